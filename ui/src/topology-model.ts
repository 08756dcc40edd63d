/**
 * What the topology draws, from the objects the watch streams deliver: tenants holding networks
 * holding endpoints (or hosts holding endpoints), services and hosts, with big groups collapsed to
 * one node that counts what it holds. Pure (no DOM, no graph library): the view hands the result
 * to cytoscape, the unit tests check it under Node.
 */
import type { TenetObject } from '../../src/core/model/object';
import { selectorMatches, type LabelSelector } from '../../src/core/model/selectors';

export type Grouping = 'network' | 'host';

export interface NodeData {
  id: string;
  label: string;
  type: 'tenant' | 'network' | 'host' | 'endpoint' | 'service' | 'group';
  parent?: string;
  tenant?: string;
  /** Endpoints a group holds (collapsed or not). */
  count?: number;
  collapsed?: boolean;
  /** Set on endpoints a search matches. */
  match?: boolean;
  phase?: string;
}

export interface EdgeData {
  id: string;
  source: string;
  target: string;
  label?: string;
}

export interface Graph {
  nodes: NodeData[];
  edges: EdgeData[];
}

/** A group holding more endpoints than this starts collapsed. */
export const COLLAPSE_AT = 40;

type Loose = Record<string, unknown>;
const spec = (o: TenetObject) => (o.spec ?? {}) as Loose;
const status = (o: TenetObject) => (o.status ?? {}) as Loose;

export function endpointId(tenant: string, name: string): string {
  return `ep:${tenant}/${name}`;
}

export function endpointAddresses(endpoint: TenetObject): string[] {
  return [status(endpoint).ipv4, status(endpoint).ipv6].filter((x): x is string => typeof x === 'string');
}

/** Search by name, label (`k=v`, or a key or value alone) or address; every word must match. */
export function matchesSearch(endpoint: TenetObject, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return false;
  const labels = Object.entries(endpoint.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`.toLowerCase());
  const haystack = [endpoint.metadata.name.toLowerCase(), ...labels, ...endpointAddresses(endpoint), String(spec(endpoint).host ?? '')];
  return words.every((word) =>
    word.includes('=') ? labels.includes(word) : haystack.some((item) => item.includes(word) || item.split('=').includes(word)),
  );
}

/** The group an endpoint is drawn in: its network (by tenant) or its host. */
export function groupOf(endpoint: TenetObject, grouping: Grouping): string {
  const tenant = endpoint.metadata.tenant ?? '';
  if (grouping === 'host') return `host:${String(spec(endpoint).host ?? '(unplaced)')}`;
  return `net:${tenant}/${String(spec(endpoint).network ?? '')}`;
}

export interface GraphOptions {
  grouping: Grouping;
  /** Groups the user opened or closed; others follow COLLAPSE_AT. */
  toggled: ReadonlyMap<string, boolean>;
  search: string;
}

/** Whether a group is drawn collapsed: the user's choice, else by size; a group holding a search match opens. */
export function isCollapsed(id: string, count: number, options: GraphOptions, holdsMatch: boolean): boolean {
  const choice = options.toggled.get(id);
  if (choice !== undefined) return choice;
  if (holdsMatch) return false;
  return count > COLLAPSE_AT;
}

export function buildGraph(objects: Iterable<TenetObject>, options: GraphOptions): Graph {
  const tenants: TenetObject[] = [];
  const networks: TenetObject[] = [];
  const endpoints: TenetObject[] = [];
  const hosts: TenetObject[] = [];
  const services: TenetObject[] = [];
  for (const o of objects) {
    if (o.kind === 'Tenant') tenants.push(o);
    else if (o.kind === 'Network') networks.push(o);
    else if (o.kind === 'Endpoint') endpoints.push(o);
    else if (o.kind === 'Host') hosts.push(o);
    else if (o.kind === 'Service') services.push(o);
  }
  const byName = (a: TenetObject, b: TenetObject) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
  const nodes: NodeData[] = [];
  const edges: EdgeData[] = [];
  const members = new Map<string, TenetObject[]>();
  for (const e of endpoints.sort(byName)) {
    const group = groupOf(e, options.grouping);
    members.set(group, [...(members.get(group) ?? []), e]);
  }
  const matched = (e: TenetObject) => options.search.trim() !== '' && matchesSearch(e, options.search);
  const addEndpoints = (group: string, list: TenetObject[]) => {
    for (const e of list) {
      const tenant = e.metadata.tenant ?? '';
      nodes.push({
        id: endpointId(tenant, e.metadata.name),
        label: e.metadata.name,
        type: 'endpoint',
        parent: group,
        tenant,
        ...(matched(e) ? { match: true } : {}),
        ...(typeof status(e).phase === 'string' ? { phase: status(e).phase as string } : {}),
      });
    }
  };
  const addGroup = (node: NodeData, list: TenetObject[]) => {
    const collapsed = isCollapsed(node.id, list.length, options, list.some(matched));
    nodes.push({ ...node, count: list.length, collapsed, label: `${node.label} (${list.length})` });
    if (!collapsed) addEndpoints(node.id, list);
  };

  if (options.grouping === 'network') {
    const tenantNames = new Set([...tenants.map((t) => t.metadata.name), ...networks.map((n) => n.metadata.tenant ?? '')]);
    // A tenant closed by the user is one node counting its endpoints: its networks and services are not drawn,
    // and its hosts' links end on it.
    const closed = new Set([...tenantNames].filter((t) => options.toggled.get(`tn:${t}`) === true));
    const shownGroup = (e: TenetObject) => (closed.has(e.metadata.tenant ?? '') ? `tn:${e.metadata.tenant ?? ''}` : groupOf(e, 'network'));
    for (const tenant of [...tenantNames].sort()) {
      const count = endpoints.filter((e) => e.metadata.tenant === tenant).length;
      nodes.push(
        closed.has(tenant)
          ? { id: `tn:${tenant}`, label: `${tenant} (${count})`, type: 'tenant', tenant, count, collapsed: true }
          : { id: `tn:${tenant}`, label: tenant, type: 'tenant', tenant, count, collapsed: false },
      );
    }
    for (const n of networks.sort(byName)) {
      const tenant = n.metadata.tenant ?? '';
      if (closed.has(tenant)) continue;
      const id = `net:${tenant}/${n.metadata.name}`;
      const subnets = ((spec(n).subnets as Array<{ cidr: string }> | undefined) ?? []).map((s) => s.cidr).join(' ');
      addGroup({ id, label: `${n.metadata.name} ${subnets}`, type: 'network', parent: `tn:${tenant}`, tenant }, members.get(id) ?? []);
    }
    // Hosts beside the tenants, each linked to the networks that have endpoints on it (tenant roles
    // cannot read Hosts: the names come from the endpoints then).
    const hostNames = new Set([
      ...hosts.map((h) => h.metadata.name),
      ...endpoints.map((e) => spec(e).host).filter((h): h is string => typeof h === 'string'),
    ]);
    for (const host of [...hostNames].sort()) nodes.push({ id: `host:${host}`, label: host, type: 'host' });
    const links = new Map<string, number>();
    for (const e of endpoints) {
      const host = spec(e).host;
      if (typeof host !== 'string') continue;
      const key = `${shownGroup(e)}|host:${host}`;
      links.set(key, (links.get(key) ?? 0) + 1);
    }
    const known = new Set(nodes.map((n) => n.id));
    for (const [key, count] of links) {
      const [source, target] = key.split('|');
      if (known.has(source)) edges.push({ id: `on:${key}`, source, target, label: String(count) });
    }
    for (const s of services.sort(byName)) {
      const tenant = s.metadata.tenant ?? '';
      if (closed.has(tenant)) continue;
      const id = `svc:${tenant}/${s.metadata.name}`;
      const vips = ((status(s).virtualIPs as string[] | undefined) ?? []).join(' ');
      nodes.push({ id, label: `${s.metadata.name} ${vips}`.trim(), type: 'service', parent: `tn:${tenant}`, tenant });
      const selector = (spec(s).selector ?? {}) as LabelSelector;
      const backends = new Map<string, number>();
      for (const e of endpoints) {
        if (e.metadata.tenant !== tenant) continue;
        if (!selectorMatches(selector, e.metadata.labels ?? {})) continue;
        const group = groupOf(e, 'network');
        backends.set(group, (backends.get(group) ?? 0) + 1);
      }
      for (const [group, count] of backends)
        if (known.has(group)) edges.push({ id: `svc:${id}|${group}`, source: id, target: group, label: `${count} backends` });
    }
  } else {
    const hostNames = new Set([...hosts.map((h) => h.metadata.name), ...[...members.keys()].map((g) => g.slice('host:'.length))]);
    for (const host of [...hostNames].sort())
      addGroup({ id: `host:${host}`, label: host, type: 'host' }, members.get(`host:${host}`) ?? []);
  }
  return { nodes, edges };
}
