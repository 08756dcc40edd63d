/**
 * Incremental compilation: one endpoint joining or leaving a compiled tenant changes set elements and
 * its dispatch entries, never the rules (except, rarely, a profile chain for a new combination of
 * policies). Recompiling instead costs time proportional to every endpoint of the tenant, which is
 * what a container start must not wait for.
 *
 * Both functions mutate the compiled tenant and the program they are given (element arrays are
 * replaced, never changed in place, because programs may share them); callers that keep an older
 * program must pass a copy made with programForUpdate.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import { DIRECTIONS, namedPortElements, profileRules, type CompiledTenant } from './compile';
import { endpointAddresses } from './intent';
import { EGRESS_MAP, INGRESS_MAP, namedPortSetName, profileChainName } from './names';
import type { NftProgram } from './program';
import { changedElements, changedEntries } from './elements';

/**
 * Set element changes of one join or leave, set name -> elements. What reaches the kernel is not
 * computed here: the table diffs the program against its record (a changed set's element array is the
 * only one it compares, the others are shared), so every producer's change goes through one diff.
 */
type ElementChanges = Record<string, string[]>;

/**
 * A copy of a program whose sets, maps, chain list and interfaces can be changed without touching the
 * original. Element arrays and map entries are shared: a join or leave replaces those it changes
 * (changedElements/changedEntries, which record the change for the diff), never edits them.
 */
export function programForUpdate(program: NftProgram): NftProgram {
  return {
    ...program,
    sets: program.sets.map((set) => ({ ...set })),
    maps: program.maps.map((map) => ({ ...map })),
    chains: [...program.chains],
    interfaces: { ...program.interfaces },
  };
}

/** The (set name, element) pairs an endpoint contributes, as the compiled tenant defines its sets. */
function memberships(compiled: CompiledTenant, endpoint: Endpoint): Array<[string, string, Set<string>]> {
  const out: Array<[string, string, Set<string>]> = [];
  const addresses = endpointAddresses(endpoint);
  for (const def of compiled.peerSets.values()) {
    if (!def.members || !def.members(endpoint)) continue;
    for (const address of addresses) {
      const family = address.includes(':') ? 6 : 4;
      out.push([def.names[family], address, def.elements[family]]);
    }
  }
  for (const [name, v4, v6] of namedPortElements(endpoint)) {
    const entry = compiled.namedPorts.get(name);
    if (!entry) continue; // only names some policy uses get a set
    for (const e of v4) out.push([namedPortSetName(name, 4), e, entry[4]]);
    for (const e of v6) out.push([namedPortSetName(name, 6), e, entry[6]]);
  }
  return out;
}

/** Replaces the element arrays of the changed sets: one copy per set, whatever the number of elements. */
function rewriteSets(program: NftProgram, changes: Record<string, string[]>, adding: boolean): void {
  for (const set of program.sets) {
    const elements = changes[set.name];
    if (!elements) continue;
    set.elements = adding ? changedElements(set.elements, elements, []) : changedElements(set.elements, [], elements);
  }
}

/**
 * One endpoint joining: the sets it enters and, when it is local (`iface`), its dispatch entries
 * and any profile chain the host does not have yet.
 */
export function endpointJoin(compiled: CompiledTenant, program: NftProgram, endpoint: Endpoint, iface?: string): void {
  const added: ElementChanges = {};
  compiled.sortedSets = undefined;
  compiled.view.endpoints.push(endpoint);
  for (const [setName, element, members] of memberships(compiled, endpoint)) {
    if (members.has(element)) continue;
    members.add(element);
    (added[setName] ??= []).push(element);
  }
  rewriteSets(program, added, true);
  const applicable = compiled.policies.filter((p) => compiled.view.applies(p.policy, endpoint));
  compiled.appliesTo.set(endpoint.metadata.name, applicable);
  if (iface) {
    const chainNames = new Set(program.chains.map((c) => c.name));
    for (const direction of DIRECTIONS) {
      const { key, rules } = profileRules(compiled, applicable, direction);
      const name = profileChainName(direction, key);
      if (!chainNames.has(name)) program.chains.push({ name, rules });
      const mapName = direction === 'egress' ? EGRESS_MAP : INGRESS_MAP;
      const map = program.maps.find((m) => m.name === mapName)!;
      map.elements = changedEntries(map.elements, { [iface]: name });
    }
    program.interfaces[iface] = endpoint.metadata.name;
  }
}

/**
 * One endpoint leaving (by name): its addresses leave every set and, when `iface` is given, its
 * dispatch entries go. Profile chains nothing dispatches to any more are dropped from the program.
 */
export function endpointLeave(compiled: CompiledTenant, program: NftProgram, name: string, iface?: string): void {
  const removed: ElementChanges = {};
  const endpoints = compiled.view.endpoints;
  const at = endpoints.findIndex((e) => e.metadata.name === name);
  if (at < 0) return;
  const [endpoint] = endpoints.splice(at, 1);
  compiled.sortedSets = undefined;
  compiled.appliesTo.delete(name);
  for (const [setName, element, members] of memberships(compiled, endpoint)) {
    if (!members.delete(element)) continue;
    (removed[setName] ??= []).push(element);
  }
  rewriteSets(program, removed, false);
  if (iface && program.interfaces[iface] === name) {
    for (const map of program.maps) if (map.elements[iface] !== undefined) map.elements = changedEntries(map.elements, {}, [iface]);
    delete program.interfaces[iface];
    pruneProfiles(compiled, program);
  }
}

/** Drops profile chains (neither base nor policy chains) that no dispatch entry leads to. */
function pruneProfiles(compiled: CompiledTenant, program: NftProgram): void {
  const kept = new Set(compiled.policyChains.map((c) => c.name));
  for (const map of program.maps) for (const target of Object.values(map.elements)) kept.add(target);
  program.chains = program.chains.filter((chain) => chain.base !== undefined || kept.has(chain.name));
}
