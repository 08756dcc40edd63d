/**
 * Diff of desired against actual kernel state → the minimal batches that make them equal. Pure.
 * Nothing that is already right is touched (a restarted agent emits no lines at all), links are never
 * recreated to change an attribute that `ip link set` can change, and deletions come before additions.
 */
import type { NamespaceState, RouteState, VxlanState } from './state';
import { fdbKey, neighbourKey, proxyKey, ROUTER_SYSCTLS } from './state';

export interface ActualNamespace extends NamespaceState {
  /** Links with an owned-looking name that are neither a wanted veth nor the VXLAN device. */
  strayLinks: string[];
  vxlanUp: boolean;
  /** The router sysctls as read back; absent in the agent's own record (it is not checked then). */
  sysctls?: Readonly<Record<string, string>>;
}

export interface NamespacePlan {
  name: string;
  tenant: string;
  /** The namespace does not exist yet: create it (and apply the router sysctls) first. */
  create: boolean;
  /** `ip -n NS -batch` run first: deletions. */
  removeLines: string[];
  /** `ip -batch` run in the agent's own namespace: create the VXLAN device on the underlay and move it. */
  hostLines: string[];
  /** `ip -n NS -batch` run last: additions and in-place changes. */
  addLines: string[];
  /** `bridge -n NS -batch`: FDB entries. */
  bridgeLines: string[];
  /** Router sysctls to write: all of them for a new namespace, else those read back with another value. */
  sysctls: Record<string, string>;
  /** Endpoints whose veth is wanted but absent (the attach path creates veths, not the reconciler). */
  missingVeths: { name: string; endpoint: string }[];
}

export interface HostPlan {
  namespaces: NamespacePlan[];
  /** Owned namespaces no tenant needs any more. */
  deleteNamespaces: string[];
}

export interface DiffOptions {
  /** Veths the reconciler must not delete (attaches in flight whose endpoint the view does not show yet). */
  protectedVeths?: ReadonlySet<string>;
  /** VXLAN devices left in the agent's own namespace (a crash between create and move). */
  hostVxlans?: readonly string[];
}

function vxlanIdentical(a: VxlanState, b: VxlanState): boolean {
  return a.name === b.name && a.vni === b.vni && a.local === b.local && a.port === b.port;
}

export function isEmptyPlan(plan: NamespacePlan): boolean {
  return (
    !plan.create &&
    plan.removeLines.length + plan.hostLines.length + plan.addLines.length + plan.bridgeLines.length + Object.keys(plan.sysctls).length ===
      0
  );
}

/** The router sysctls whose value read back differs (or could not be read); none when nothing was read. */
export function sysctlChanges(actual: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const changes: Record<string, string> = {};
  if (!actual) return changes;
  for (const [key, value] of Object.entries(ROUTER_SYSCTLS)) if (actual[key] !== value) changes[key] = value;
  return changes;
}

export function diffNamespace(desired: NamespaceState, actual: ActualNamespace | undefined, options: DiffOptions = {}): NamespacePlan {
  const plan: NamespacePlan = {
    name: desired.name,
    tenant: desired.tenant,
    create: actual === undefined,
    removeLines: [],
    hostLines: [],
    addLines: [],
    bridgeLines: [],
    sysctls: actual === undefined ? { ...ROUTER_SYSCTLS } : sysctlChanges(actual.sysctls),
    missingVeths: [],
  };
  const current: ActualNamespace = actual ?? {
    name: desired.name,
    tenant: desired.tenant,
    veths: [],
    loAddresses: [],
    routes: [],
    neighbours: [],
    proxies: [],
    fdb: [],
    strayLinks: [],
    vxlanUp: false,
  };
  const protectedVeths = options.protectedVeths ?? new Set<string>();
  if (plan.create) plan.addLines.push('link set lo up');

  // Links: which exist after this plan, and which go away (taking their routes and neighbours with them).
  const deletedLinks = new Set<string>();
  const desiredVeths = new Map(desired.veths.map((v) => [v.name, v]));
  for (const veth of current.veths) {
    if (!desiredVeths.has(veth.name) && !protectedVeths.has(veth.name)) deletedLinks.add(veth.name);
  }
  for (const name of current.strayLinks) deletedLinks.add(name);
  let vxlanReady = false;
  if (current.vxlan) {
    if (!desired.vxlan || !vxlanIdentical(desired.vxlan, current.vxlan)) deletedLinks.add(current.vxlan.name);
    else vxlanReady = true;
  }
  for (const name of [...deletedLinks].sort()) plan.removeLines.push(`link del ${name}`);

  if (desired.vxlan) {
    const v = desired.vxlan;
    if (!vxlanReady) {
      if (options.hostVxlans?.includes(v.name)) plan.hostLines.push(`link del ${v.name}`);
      plan.hostLines.push(
        `link add ${v.name} type vxlan id ${v.vni} local ${v.local} dstport ${v.port} ${v.learning ? 'learning' : 'nolearning'}`,
      );
      plan.hostLines.push(`link set ${v.name} netns ${desired.name}`);
      plan.addLines.push(`link set ${v.name} address ${v.mac} mtu ${v.mtu} up`);
    } else if (current.vxlan) {
      if (current.vxlan.mac !== v.mac || current.vxlan.mtu !== v.mtu || !current.vxlanUp)
        plan.addLines.push(`link set ${v.name} address ${v.mac} mtu ${v.mtu} up`);
      // Learning would let received packets rewrite the FDB: changed in place, the device and its entries stay.
      if (current.vxlan.learning !== v.learning)
        plan.addLines.push(`link set ${v.name} type vxlan ${v.learning ? 'learning' : 'nolearning'}`);
    }
  }

  const presentVeths = new Map(current.veths.filter((v) => !deletedLinks.has(v.name)).map((v) => [v.name, v]));
  for (const veth of desired.veths) {
    const have = presentVeths.get(veth.name);
    if (!have) {
      plan.missingVeths.push({ name: veth.name, endpoint: veth.endpoint ?? '' });
      continue;
    }
    if (have.mac !== veth.mac || have.mtu !== veth.mtu || have.up === false) {
      plan.addLines.push(`link set ${veth.name} address ${veth.mac} mtu ${veth.mtu} up`);
    }
  }
  const usable = (dev: string): boolean => presentVeths.has(dev) || desired.vxlan?.name === dev;
  // Entries on a protected veth belong to an attach in flight: leave them alone too.
  const surviving = (dev: string): boolean => !deletedLinks.has(dev) && (desiredVeths.has(dev) || !protectedVeths.has(dev));

  // Addresses on lo.
  const wantLo = new Set(desired.loAddresses);
  const haveLo = new Set(current.loAddresses);
  for (const address of current.loAddresses) if (!wantLo.has(address)) plan.removeLines.push(`addr del ${address} dev lo`);
  for (const address of desired.loAddresses) if (!haveLo.has(address)) plan.addLines.push(`addr replace ${address} dev lo`);

  // Routes: keyed by destination (one owner per address).
  const wantRoutes = new Map<string, RouteState>(desired.routes.filter((r) => usable(r.dev)).map((r) => [r.dst, r]));
  const haveRoutes = new Map<string, RouteState>(current.routes.map((r) => [r.dst, r]));
  for (const route of current.routes) {
    if (!surviving(route.dev)) continue;
    const want = wantRoutes.get(route.dst);
    if (!want) plan.removeLines.push(`route del ${route.dst} dev ${route.dev}`);
  }
  for (const route of wantRoutes.values()) {
    const have = haveRoutes.get(route.dst);
    if (!have || have.dev !== route.dev || deletedLinks.has(have.dev)) plan.addLines.push(`route replace ${route.dst} dev ${route.dev}`);
  }

  // Permanent neighbours.
  const wantNeigh = new Map(desired.neighbours.filter((n) => usable(n.dev)).map((n) => [neighbourKey(n), n]));
  const haveNeigh = new Map(current.neighbours.map((n) => [neighbourKey(n), n]));
  for (const [key, n] of haveNeigh) if (surviving(n.dev) && !wantNeigh.has(key)) plan.removeLines.push(`neigh del ${n.dst} dev ${n.dev}`);
  for (const [key, n] of wantNeigh) {
    const have = haveNeigh.get(key);
    if (!have || have.lladdr !== n.lladdr || deletedLinks.has(n.dev))
      plan.addLines.push(`neigh replace ${n.dst} lladdr ${n.lladdr} dev ${n.dev} nud permanent`);
  }

  // Proxy NDP entries.
  const wantProxy = new Map(desired.proxies.filter((p) => usable(p.dev)).map((p) => [proxyKey(p), p]));
  const haveProxy = new Map(current.proxies.map((p) => [proxyKey(p), p]));
  for (const [key, p] of haveProxy)
    if (surviving(p.dev) && !wantProxy.has(key)) plan.removeLines.push(`neigh del proxy ${p.dst} dev ${p.dev}`);
  for (const [key, p] of wantProxy)
    if (!haveProxy.has(key) || deletedLinks.has(p.dev)) plan.addLines.push(`neigh replace proxy ${p.dst} dev ${p.dev}`);

  // FDB entries on the VXLAN device (`append`: one MAC may in principle have several remotes).
  const wantFdb = new Map(desired.fdb.filter((f) => usable(f.dev)).map((f) => [fdbKey(f), f]));
  const haveFdb = new Map(current.fdb.map((f) => [fdbKey(f), f]));
  for (const [key, f] of haveFdb)
    if (surviving(f.dev) && !wantFdb.has(key)) plan.bridgeLines.push(`fdb del ${f.mac} dev ${f.dev} dst ${f.dst} self`);
  for (const [key, f] of wantFdb) {
    if (!haveFdb.has(key) || deletedLinks.has(f.dev) || !vxlanReady)
      plan.bridgeLines.push(`fdb append ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`);
  }
  return plan;
}

/** Diff of every tenant namespace; `actual` holds the owned namespaces that exist (by name). */
export function diffHost(
  desired: readonly NamespaceState[],
  actual: ReadonlyMap<string, ActualNamespace | undefined>,
  ownedNamespaces: readonly string[],
  options: DiffOptions & { protectedNamespaces?: ReadonlySet<string> } = {},
): HostPlan {
  const wanted = new Set(desired.map((d) => d.name));
  return {
    namespaces: desired.map((d) => diffNamespace(d, actual.get(d.name), options)),
    deleteNamespaces: ownedNamespaces.filter((name) => !wanted.has(name) && !(options.protectedNamespaces?.has(name) ?? false)).sort(),
  };
}

/**
 * What the namespace looks like once `plan` was applied without failures: the kernel record the agent
 * keeps so that the next incremental pass needs no read-back.
 */
export function stateAfterPlan(
  desired: NamespaceState,
  actual: ActualNamespace | undefined,
  plan: NamespacePlan,
  protectedVeths: ReadonlySet<string> = new Set(),
): ActualNamespace {
  const missing = new Set(plan.missingVeths.map((m) => m.name));
  const wanted = new Set(desired.veths.map((v) => v.name));
  const kept = (actual?.veths ?? []).filter((v) => protectedVeths.has(v.name) && !wanted.has(v.name));
  const keptNames = new Set(kept.map((v) => v.name));
  const veths = [
    ...desired.veths.filter((v) => !missing.has(v.name)).map((v) => ({ name: v.name, mac: v.mac, mtu: v.mtu, up: true })),
    ...kept,
  ];
  // A set, not a search of `veths` per entry: with thousands of veths that search made every pass quadratic.
  const vethNames = new Set(veths.map((v) => v.name));
  const usable = (dev: string): boolean => vethNames.has(dev) || desired.vxlan?.name === dev;
  const routes = desired.routes.filter((r) => usable(r.dev));
  const routeDsts = new Set(routes.map((r) => r.dst));
  return {
    name: desired.name,
    tenant: desired.tenant,
    vxlan: desired.vxlan ? { ...desired.vxlan } : undefined,
    veths,
    loAddresses: [...desired.loAddresses],
    routes: [...routes, ...(actual?.routes ?? []).filter((r) => keptNames.has(r.dev) && !routeDsts.has(r.dst))],
    neighbours: [...desired.neighbours.filter((n) => usable(n.dev)), ...(actual?.neighbours ?? []).filter((n) => keptNames.has(n.dev))],
    proxies: [...desired.proxies.filter((p) => usable(p.dev)), ...(actual?.proxies ?? []).filter((p) => keptNames.has(p.dev))],
    fdb: desired.fdb.filter((f) => usable(f.dev)),
    strayLinks: [],
    vxlanUp: desired.vxlan !== undefined,
  };
}

/** The record after an attach plumbed `veth` as `desired` describes it (plus the gateways it put on lo). */
export function recordAttached(
  known: ActualNamespace,
  desired: NamespaceState,
  veth: string,
  loAddresses: readonly string[],
): ActualNamespace {
  const want = desired.veths.find((v) => v.name === veth);
  if (!want) return known;
  const routes = desired.routes.filter((r) => r.dev === veth);
  const dsts = new Set(routes.map((r) => r.dst));
  return {
    ...known,
    veths: [...known.veths.filter((v) => v.name !== veth), { name: veth, mac: want.mac, mtu: want.mtu, up: true }],
    loAddresses: [...new Set([...known.loAddresses, ...loAddresses])].sort(),
    routes: [...known.routes.filter((r) => !dsts.has(r.dst)), ...routes],
    neighbours: [...known.neighbours.filter((n) => n.dev !== veth), ...desired.neighbours.filter((n) => n.dev === veth)],
    proxies: [...known.proxies.filter((p) => p.dev !== veth), ...desired.proxies.filter((p) => p.dev === veth)],
  };
}

/** The record after `veth` was deleted (its routes and neighbours went with it). */
export function recordDetached(known: ActualNamespace, veth: string): ActualNamespace {
  return {
    ...known,
    veths: known.veths.filter((v) => v.name !== veth),
    routes: known.routes.filter((r) => r.dev !== veth),
    neighbours: known.neighbours.filter((n) => n.dev !== veth),
    proxies: known.proxies.filter((p) => p.dev !== veth),
  };
}
