/**
 * The DNS records of one tenant, from its intent (pure). Each tenant's resolver holds its own tenant's
 * names only, so another tenant's names do not exist there, whatever the client asks (docs/services.md,
 * "DNS"):
 *
 *   <service>.<tenant>.svc.<domain>                 A/AAAA from status.virtualIPs
 *   _<port>._<proto>.<service>.<tenant>.svc.<domain> SRV for each named port (target: the service's name)
 *   <endpoint>.<network>.<tenant>.<domain>          A/AAAA from the endpoint's addresses
 *
 * A name that is no valid DNS label is skipped with a reason (the shell logs it), never escaped: the
 * records reach a file the resolver parses, so nothing but [a-z0-9-] and dots may appear in a name.
 */
import type { TenantView } from '../dataplane/host-view';
import { canonicalIp, parseIp } from '../net/ip';

/**
 * The cluster domain when none is configured (agent `--cluster-domain`): Kubernetes' default, so names
 * read as users of that world expect. The controller writes Services' status.dnsName with it.
 */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1035: a name is at most 255 octets on the wire, 253 characters as text without the final dot. */
const MAX_NAME = 253;

export function isDnsLabel(text: string): boolean {
  return LABEL.test(text);
}

/** A cluster domain: one or more valid labels, lower case, no trailing dot. Throws with a clear message otherwise. */
export function assertClusterDomain(domain: string): string {
  const labels = domain.split('.');
  if (domain.length === 0 || domain.length > 200 || !labels.every(isDnsLabel)) {
    throw new Error(
      `cluster domain "${domain}" must be dot-separated DNS labels (lower-case letters, digits, "-"), at most 200 characters`,
    );
  }
  return domain;
}

export interface AddressRecord {
  name: string;
  address: string;
  family: 4 | 6;
}

export interface SrvRecord {
  /** _<port-name>._<proto>.<service FQDN> */
  name: string;
  target: string;
  port: number;
  priority: number;
  weight: number;
}

export interface TenantRecords {
  addresses: AddressRecord[];
  srv: SrvRecord[];
  /** Objects left out, with why (names that are no DNS label, names too long, names claimed twice). */
  skipped: { kind: 'Service' | 'Endpoint'; name: string; reason: string }[];
}

/** FQDN of a service (what the services work writes to status.dnsName). */
export function serviceDnsName(service: string, tenant: string, domain = DEFAULT_CLUSTER_DOMAIN): string {
  return `${service}.${tenant}.svc.${domain}`;
}

export function endpointDnsName(endpoint: string, network: string, tenant: string, domain: string): string {
  return `${endpoint}.${network}.${tenant}.${domain}`;
}

/**
 * The resolv.conf search list of a container in `network` of `tenant`: services by their short name,
 * then endpoints of its own network by theirs, then `<endpoint>.<network>` of any network of the tenant.
 */
export function searchList(tenant: string, network: string, domain: string): string[] {
  return [`${tenant}.svc.${domain}`, `${network}.${tenant}.${domain}`, `${tenant}.${domain}`];
}

/** What a container's resolv.conf gets (CNI result `dns`, lab and Docker containers). */
export interface ContainerDns {
  nameservers: string[];
  search: string[];
  domain: string;
}

export function containerDns(tenant: string, network: string, gateways: readonly string[], domain: string): ContainerDns {
  return { nameservers: [...gateways], search: searchList(tenant, network, domain), domain: `${network}.${tenant}.${domain}` };
}

/**
 * The services' part of a tenant's records, per tenant and domain, with the very service objects it
 * was made from: the agent asks on every pass, and with 10,000 services making them again cost ~50 ms a
 * pass. Services unchanged are the same objects, so an endpoint's change (the usual one) costs the
 * endpoints' part only. `text`: those records' lines of the hosts file.
 */
interface ServicePart {
  services: readonly unknown[];
  addresses: AddressRecord[];
  srv: SrvRecord[];
  skipped: TenantRecords['skipped'];
  claimed: Set<string>;
  text: string;
}
const serviceParts = new Map<string, ServicePart>();
/** Each records object's hosts file, made with it (the services' lines are made once per change of the services). */
const hostsFiles = new WeakMap<TenantRecords, string>();
/** The whole records of the last call per tenant and domain, with the endpoint views they were made from. */
const lastRecords = new Map<string, { part: ServicePart; endpoints: readonly unknown[]; records: TenantRecords }>();

const sameItems = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function tenantRecords(tenant: TenantView, domain: string): TenantRecords {
  assertClusterDomain(domain);
  if (!isDnsLabel(tenant.name))
    return {
      addresses: [],
      srv: [],
      skipped: [{ kind: 'Endpoint', name: tenant.name, reason: `tenant name "${tenant.name}" is no DNS label` }],
    };
  const key = `${tenant.name}|${domain}`;
  // Bounded: one entry per tenant this process serves (a tenant gone leaves its entry until the maps are cleared).
  if (serviceParts.size > 10_000) {
    serviceParts.clear();
    lastRecords.clear();
  }
  let part = serviceParts.get(key);
  if (!part || !sameItems(part.services, tenant.services)) serviceParts.set(key, (part = servicesPart(tenant, domain)));
  const last = lastRecords.get(key);
  if (last && last.part === part && sameItems(last.endpoints, tenant.endpoints)) return last.records;
  const records: TenantRecords = { addresses: [...part.addresses], srv: part.srv, skipped: [...part.skipped] };
  const own: AddressRecord[] = [];
  for (const endpoint of tenant.endpoints) {
    const mine = endpointRecords(endpoint, tenant.name, domain);
    if (mine.skipped) {
      records.skipped.push(mine.skipped);
      continue;
    }
    // A tenant named "svc" could make an endpoint's name equal a service's: the service keeps it.
    if (part.claimed.has(mine.fqdn)) {
      records.skipped.push({ kind: 'Endpoint', name: endpoint.name, reason: `${mine.fqdn} is a service's name` });
      continue;
    }
    own.push(...mine.addresses);
  }
  records.addresses.push(...own);
  hostsFiles.set(records, part.text + linesOf(own));
  lastRecords.set(key, { part, endpoints: [...tenant.endpoints], records });
  return records;
}

const linesOf = (addresses: readonly AddressRecord[]): string => addresses.map((r) => `${r.address} ${r.name}\n`).join('');

function servicesPart(tenant: TenantView, domain: string): ServicePart {
  const out: ServicePart = { services: [...tenant.services], addresses: [], srv: [], skipped: [], claimed: new Set(), text: '' };
  const claimed = out.claimed;
  const tooLong = (name: string): boolean => name.length > MAX_NAME;
  for (const service of [...tenant.services].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const name = service.metadata.name;
    if (!isDnsLabel(name)) {
      out.skipped.push({ kind: 'Service', name, reason: 'the name is no DNS label' });
      continue;
    }
    const fqdn = serviceDnsName(name, tenant.name, domain);
    if (tooLong(fqdn)) {
      out.skipped.push({ kind: 'Service', name, reason: `${fqdn} is longer than ${MAX_NAME} characters` });
      continue;
    }
    // Until the services work allocates VIPs a Service has no status: it has no address records yet.
    const vips = (service.status?.virtualIPs ?? []).map((ip) => canonicalIp(ip)).filter((ip): ip is string => ip !== undefined);
    if (vips.length === 0) continue;
    claimed.add(fqdn);
    for (const address of [...new Set(vips)].sort()) out.addresses.push({ name: fqdn, address, family: parseIp(address)!.family });
    for (const port of service.spec.ports) {
      if (!port.name) continue;
      if (!isDnsLabel(port.name)) {
        out.skipped.push({ kind: 'Service', name, reason: `port name "${port.name}" is no DNS label; no SRV record` });
        continue;
      }
      const srvName = `_${port.name}._${port.protocol.toLowerCase()}.${fqdn}`;
      if (tooLong(srvName)) {
        out.skipped.push({ kind: 'Service', name, reason: `${srvName} is longer than ${MAX_NAME} characters` });
        continue;
      }
      out.srv.push({ name: srvName, target: fqdn, port: port.port, priority: 0, weight: 0 });
    }
  }
  out.text = linesOf(out.addresses);
  return out;
}

type EndpointRecords = { fqdn: string; addresses: AddressRecord[]; skipped?: TenantRecords['skipped'][number] };

/**
 * One endpoint's records, once per view (views of unchanged endpoints are the same objects, and the
 * agent asks for every endpoint's records on every pass: with thousands that was milliseconds each).
 */
const endpointRecordCache = new WeakMap<TenantView['endpoints'][number], { key: string; records: EndpointRecords }>();

function endpointRecords(endpoint: TenantView['endpoints'][number], tenant: string, domain: string): EndpointRecords {
  const key = `${tenant}|${domain}`;
  const cached = endpointRecordCache.get(endpoint);
  if (cached?.key === key) return cached.records;
  let records: EndpointRecords;
  const fqdn = endpointDnsName(endpoint.name, endpoint.network, tenant, domain);
  if (!isDnsLabel(endpoint.name) || !isDnsLabel(endpoint.network))
    records = {
      fqdn,
      addresses: [],
      skipped: { kind: 'Endpoint', name: endpoint.name, reason: 'the endpoint or network name is no DNS label' },
    };
  else if (fqdn.length > MAX_NAME)
    records = {
      fqdn,
      addresses: [],
      skipped: { kind: 'Endpoint', name: endpoint.name, reason: `${fqdn} is longer than ${MAX_NAME} characters` },
    };
  else {
    records = { fqdn, addresses: [] };
    for (const address of [endpoint.ipv4, endpoint.ipv6]) {
      const canonical = address === undefined ? undefined : canonicalIp(address);
      if (canonical) records.addresses.push({ name: fqdn, address: canonical, family: parseIp(canonical)!.family });
    }
  }
  endpointRecordCache.set(endpoint, { key, records });
  return records;
}

/** The hosts file the resolver re-reads on SIGHUP (one `address name` per line). */
export function hostsFile(records: TenantRecords): string {
  let text = hostsFiles.get(records);
  if (text === undefined) hostsFiles.set(records, (text = linesOf(records.addresses)));
  return text;
}

/** SRV records as dnsmasq options (`srv-host=name,target,port,priority,weight`), one per line. */
export function srvOptions(records: TenantRecords): string[] {
  return records.srv.map((s) => `${s.name},${s.target},${s.port},${s.priority},${s.weight}`);
}

/** The gateway addresses of a tenant (where its resolver listens), sorted and unique. */
export function tenantGateways(tenant: TenantView): string[] {
  return [...new Set(tenant.networks.flatMap((n) => n.subnets.map((s) => s.gateway)))].sort();
}

/** resolv.conf for a container (the lab writes it; runtimes write their own from the CNI result). */
export function resolvConf(dns: ContainerDns): string {
  const lines = ['# written by tenet: the tenant resolver at its gateway (docs/services.md, "DNS")'];
  lines.push(`search ${dns.search.join(' ')}`);
  // glibc reads at most three nameservers.
  for (const server of dns.nameservers.slice(0, 3)) lines.push(`nameserver ${server}`);
  lines.push('options ndots:3');
  return `${lines.join('\n')}\n`;
}
