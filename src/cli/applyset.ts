/**
 * Apply sets, after kubectl's ApplySet (KEP-3659): every object an `apply --applyset NAME` sends
 * carries the label `applyset.tenet.dev/part-of=NAME`; `apply --prune` deletes the live objects
 * with that label that the files no longer hold, and `diff --applyset` reports them. Only intent
 * kinds are ever candidates: runtime kinds (Endpoint, Host) are never listed, whatever their labels.
 *
 * Where Tenet differs from kubectl: there is no parent object recording the set's kinds and
 * namespaces (kubectl's `applyset.kubernetes.io/contains-group-kinds` annotation); Tenet's kinds are
 * few and fixed, so every intent kind is searched by label (in --tenant when given, else in every
 * tenant the token may read). The set's id is its name, readable in `get -o wide`, not a hash.
 */
import type { TenetClient } from '../client/api-client';
import { ApiError } from '../client/errors';
import { KINDS } from '../core/model/registry';
import { refKey, refOf, type TenetObject } from '../core/model/object';
import { CliError } from './context';
import { nameArg } from './args';
import type { LocatedObject } from './manifests';
import { originText, refPath } from './manifests';
import { compareByDependency } from './normalize';

export const APPLYSET_LABEL = 'applyset.tenet.dev/part-of';

export function applysetArg(text: string | undefined, prune: boolean | undefined): string | undefined {
  if (text === undefined) {
    if (prune) throw new CliError('--prune needs --applyset NAME: only objects an earlier apply of the same set labelled are pruned', 2);
    return undefined;
  }
  return nameArg(text, 'applyset');
}

/** The files' objects with the set's label; a file that labels an object for another set is a mistake. */
export function labelForSet(located: readonly LocatedObject[], set: string): LocatedObject[] {
  const problems: string[] = [];
  const labelled = located.map(({ origin, object }) => {
    const given = object.metadata.labels?.[APPLYSET_LABEL];
    if (given !== undefined && given !== set)
      problems.push(
        `${originText(origin)} (${refPath(object)}): label ${APPLYSET_LABEL}=${given} names another set than --applyset ${set}`,
      );
    return {
      origin,
      object: { ...object, metadata: { ...object.metadata, labels: { ...object.metadata.labels, [APPLYSET_LABEL]: set } } } as TenetObject,
    };
  });
  if (problems.length > 0) throw new CliError(`invalid manifests (nothing was sent):\n  ${problems.join('\n  ')}`, 2);
  return labelled;
}

export interface SetState {
  /** Live objects of the set that the files do not hold, dependents first (the order to delete them in). */
  liveOnly: TenetObject[];
  /** Objects in the files that live in another set already (applying would take them over). */
  owned: { object: TenetObject; set: string }[];
}

/** Lists every intent kind by the set's label and compares with the files' objects. */
export async function setState(
  client: TenetClient,
  set: string,
  objects: readonly TenetObject[],
  tenant: string | undefined,
): Promise<SetState> {
  const wanted = new Set(objects.map((o) => refKey(refOf(o))));
  const liveOnly: TenetObject[] = [];
  const owned: { object: TenetObject; set: string }[] = [];
  for (const info of KINDS.filter((k) => k.intent)) {
    const scope = info.tenantScoped ? tenant : undefined;
    if (!info.tenantScoped && tenant !== undefined && !objects.some((o) => o.kind === info.kind)) continue;
    let inSet;
    try {
      inSet = await client.list<TenetObject>(info.kind, { tenant: scope, labelSelector: `${APPLYSET_LABEL}=${set}` });
    } catch (error) {
      // A tenant-admin may not list cluster-scoped kinds (global policies): it cannot have applied them
      // either, so there is nothing of its set there — unless its files hold such objects.
      if (error instanceof ApiError && error.status === 403 && !objects.some((o) => o.kind === info.kind)) continue;
      throw error;
    }
    for (const live of inSet.items) if (!wanted.has(refKey(refOf(live)))) liveOnly.push(live);
    if (!objects.some((o) => o.kind === info.kind)) continue;
    const others = await client.list<TenetObject>(info.kind, {
      tenant: scope,
      labelSelector: `${APPLYSET_LABEL},${APPLYSET_LABEL}!=${set}`,
    });
    for (const live of others.items)
      if (wanted.has(refKey(refOf(live)))) owned.push({ object: live, set: live.metadata.labels?.[APPLYSET_LABEL] ?? '' });
  }
  liveOnly.sort((a, b) => compareByDependency(b, a));
  return { liveOnly, owned };
}

export function refuseOwned(owned: SetState['owned'], set: string): void {
  if (owned.length === 0) return;
  const lines = owned.map(({ object, set: other }) => `${refPath(object)} belongs to applyset ${other}`);
  throw new CliError(
    `nothing was sent: objects of another set would move into ${set} (remove its label from them first, or apply them with their own --applyset):\n  ${lines.join('\n  ')}`,
  );
}
