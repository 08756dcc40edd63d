/**
 * Checking what a user typed before anything is sent: kinds, names (optionally `tenant/name`),
 * tenants, revisions, selectors. Every mistake is a CliError with exit code 2 (usage).
 */
import { KINDS, resolveKind, type KindInfo } from '../core/model/registry';
import { describeNameRule, isName, shown } from '../core/model/names';
import { parseSelector, SelectorSyntaxError } from '../core/model/selectors';
import { CliError } from './context';

export function kindArg(text: string): KindInfo {
  const info = resolveKind(text);
  if (!info) {
    const known = KINDS.map((k) => {
      const short = k.aliases.filter((a) => a !== k.plural && a !== k.kind.toLowerCase());
      return short.length > 0 ? `${k.plural} (${short.join(', ')})` : k.plural;
    }).join(', ');
    throw new CliError(`unknown kind "${shown(text)}"; use one of: ${known}`, 2);
  }
  return info;
}

export { shown } from '../core/model/names';

export function nameArg(text: string, what = 'name'): string {
  if (!isName(text)) throw new CliError(`invalid ${what} "${shown(text)}": must be ${describeNameRule()}`, 2);
  return text;
}

export interface Target {
  info: KindInfo;
  name: string;
  /** Undefined for cluster-scoped kinds, and for tenant-scoped ones when the user gave no tenant. */
  tenant?: string;
}

/**
 * KIND NAME [--tenant T]; for tenant-scoped kinds NAME may be written `tenant/name`.
 * --tenant on a cluster-scoped kind is a mistake worth pointing out.
 */
export function targetArg(kindText: string, nameText: string, tenantOption: string | undefined): Target {
  const info = kindArg(kindText);
  let tenant = tenantOption === undefined ? undefined : nameArg(tenantOption, 'tenant');
  let name = nameText;
  const slash = nameText.indexOf('/');
  if (info.tenantScoped && slash > 0 && nameText.indexOf('/', slash + 1) < 0) {
    const prefix = nameArg(nameText.slice(0, slash), 'tenant');
    if (tenant !== undefined && tenant !== prefix)
      throw new CliError(`"${shown(nameText)}" names tenant "${prefix}" but --tenant says "${tenant}"`, 2);
    tenant = prefix;
    name = nameText.slice(slash + 1);
  }
  nameArg(name);
  if (!info.tenantScoped && tenant !== undefined) throw new CliError(`${info.kind} is cluster-scoped: --tenant does not apply`, 2);
  return { info, name, tenant };
}

export function tenantOptionFor(info: KindInfo, tenantOption: string | undefined): string | undefined {
  if (tenantOption === undefined) return undefined;
  nameArg(tenantOption, 'tenant');
  if (!info.tenantScoped) throw new CliError(`${info.kind} is cluster-scoped: --tenant does not apply`, 2);
  return tenantOption;
}

export function revisionArg(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) throw new CliError(`invalid revision "${shown(text)}": must be a positive whole number`, 2);
  return Number(text);
}

/** Checks a selector locally so a typo is reported before any request. Returns the text unchanged. */
export function selectorArg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new CliError(`-l: ${error.message}`, 2);
    throw error;
  }
  return text;
}

/** Commander reducer for repeatable options (`-f a -f b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
