/**
 * DNS records of one tenant (pure): services by their virtual IPs with SRV for named ports, endpoints by
 * network, nothing of other tenants, invalid labels skipped with a reason, the search list, the CNI `dns`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointView, TenantView } from '../../src/core/dataplane/host-view';
import type { Service } from '../../src/core/model/kinds/service';
import {
  assertClusterDomain,
  containerDns,
  DEFAULT_CLUSTER_DOMAIN,
  hostsFile,
  isDnsLabel,
  searchList,
  srvOptions,
  tenantGateways,
  tenantRecords,
} from '../../src/core/dns/records';
import { addResult } from '../../src/cni/result';
import { attachPlan } from '../../src/core/dataplane/attach-plan';

const endpoint = (name: string, over: Partial<EndpointView> = {}): EndpointView =>
  ({
    name,
    tenant: 'acme',
    network: 'net',
    local: true,
    labels: {},
    mac: '02:aa:00:00:00:01',
    ipv4: '10.0.0.5',
    ports: [],
    ...over,
  }) as EndpointView;

const service = (
  name: string,
  virtualIPs?: string[],
  ports: Service['spec']['ports'] = [{ name: 'http', protocol: 'TCP', port: 80 }],
): Service =>
  ({
    apiVersion: 'tenet.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, tenant: 'acme' },
    spec: { selector: {}, ports },
    ...(virtualIPs ? { status: { virtualIPs } } : {}),
  }) as unknown as Service;

const tenant = (over: Partial<TenantView> = {}): TenantView =>
  ({
    name: 'acme',
    networks: [
      {
        name: 'net',
        tenant: 'acme',
        mtu: 1450,
        subnets: [
          { family: 4, cidr: '10.0.0.0/24', prefix: 24, gateway: '10.0.0.1' },
          { family: 6, cidr: 'fd00::/64', prefix: 64, gateway: 'fd00::1' },
        ],
      },
      { name: 'back', tenant: 'acme', mtu: 1450, subnets: [{ family: 4, cidr: '10.0.1.0/24', prefix: 24, gateway: '10.0.1.1' }] },
    ],
    services: [],
    endpoints: [],
    ...over,
  }) as unknown as TenantView;

test('endpoints get <endpoint>.<network>.<tenant>.<domain> A and AAAA records from their addresses', () => {
  const records = tenantRecords(
    tenant({ endpoints: [endpoint('web', { ipv6: 'fd00:0:0:0::5' }), endpoint('db', { network: 'back', ipv4: '10.0.1.7' })] }),
    'cluster.local',
  );
  assert.deepEqual(records.addresses, [
    { name: 'web.net.acme.cluster.local', address: '10.0.0.5', family: 4 },
    { name: 'web.net.acme.cluster.local', address: 'fd00::5', family: 6 },
    { name: 'db.back.acme.cluster.local', address: '10.0.1.7', family: 4 },
  ]);
  assert.equal(
    hostsFile(records),
    '10.0.0.5 web.net.acme.cluster.local\nfd00::5 web.net.acme.cluster.local\n10.0.1.7 db.back.acme.cluster.local\n',
  );
  assert.deepEqual(records.srv, []);
});

test('services with status.virtualIPs get A/AAAA and SRV for named ports; without status they have no records yet', () => {
  const ports: Service['spec']['ports'] = [
    { name: 'http', protocol: 'TCP', port: 80 },
    { name: 'dns', protocol: 'UDP', port: 53 },
    { protocol: 'SCTP', port: 9 },
  ];
  const records = tenantRecords(
    tenant({ services: [service('api', ['10.96.0.10', 'fd96::a'], ports), service('pending')] }),
    'example.org',
  );
  assert.deepEqual(records.addresses, [
    { name: 'api.acme.svc.example.org', address: '10.96.0.10', family: 4 },
    { name: 'api.acme.svc.example.org', address: 'fd96::a', family: 6 },
  ]);
  assert.deepEqual(srvOptions(records), [
    '_http._tcp.api.acme.svc.example.org,api.acme.svc.example.org,80,0,0',
    '_dns._udp.api.acme.svc.example.org,api.acme.svc.example.org,53,0,0',
  ]);
  assert.ok(!records.addresses.some((r) => r.name.startsWith('pending.')), 'a service without virtual IPs has no address record');
});

test('names that are no DNS label are skipped with a reason, never escaped into the file', () => {
  const hostile = ['Web', 'a_b', 'x y', 'evil\n10.0.0.9 api.acme.svc.cluster.local', '-lead', 'a'.repeat(64)];
  const records = tenantRecords(
    tenant({ endpoints: hostile.map((name) => endpoint(name)), services: [service('Bad', ['10.96.0.1'])] }),
    'cluster.local',
  );
  assert.deepEqual(records.addresses, []);
  assert.equal(records.skipped.length, hostile.length + 1);
  assert.equal(hostsFile(records), '');
  assert.ok(records.skipped.every((s) => s.reason.length > 0));
});

test('an endpoint whose name equals a service name (a tenant "svc") is left to the service', () => {
  const t = tenant({
    name: 'svc',
    services: [{ ...service('x', ['10.96.0.1']), metadata: { name: 'x', tenant: 'svc' } } as unknown as Service],
    endpoints: [endpoint('x', { tenant: 'svc', network: 'svc' })],
  });
  const records = tenantRecords(t, 'cluster.local');
  assert.deepEqual(
    records.addresses.map((r) => r.address),
    ['10.96.0.1'],
  );
  assert.equal(records.skipped[0].kind, 'Endpoint');
});

test('cluster domain and labels are validated', () => {
  assert.equal(DEFAULT_CLUSTER_DOMAIN, 'cluster.local');
  for (const bad of ['', 'Tenet.local', 'a..b', 'a.b.', '-a.b', 'a b', 'x'.repeat(201)])
    assert.throws(() => assertClusterDomain(bad), /cluster domain/);
  assert.equal(assertClusterDomain('cluster.example.org'), 'cluster.example.org');
  assert.ok(isDnsLabel('a-1') && !isDnsLabel('a.b') && !isDnsLabel(''));
});

test('search list, gateways and the container DNS settings', () => {
  assert.deepEqual(searchList('acme', 'net', 'cluster.local'), ['acme.svc.cluster.local', 'net.acme.cluster.local', 'acme.cluster.local']);
  assert.deepEqual(tenantGateways(tenant()), ['10.0.0.1', '10.0.1.1', 'fd00::1']);
  assert.deepEqual(containerDns('acme', 'net', ['10.0.0.1'], 'cluster.local'), {
    nameservers: ['10.0.0.1'],
    search: searchList('acme', 'net', 'cluster.local'),
    domain: 'net.acme.cluster.local',
  });
});

test('the attach result and the CNI result carry dns: the gateways of the endpoint network', () => {
  const t = tenant();
  const ep = endpoint('web', { ipv6: 'fd00::5', hostIfName: 'tvweb' });
  const plan = attachPlan(ep, t.networks[0], '/run/netns/c', 'eth0', undefined, 'cluster.local');
  assert.deepEqual(plan.result.dns, {
    nameservers: ['10.0.0.1', 'fd00::1'],
    search: ['acme.svc.cluster.local', 'net.acme.cluster.local', 'acme.cluster.local'],
    domain: 'net.acme.cluster.local',
  });
  assert.equal(attachPlan(ep, t.networks[0], '/run/netns/c', 'eth0').result.dns, undefined);
  const cni = addResult('1.0.0', plan.result, '/run/netns/c');
  assert.deepEqual(cni.dns, {
    nameservers: ['10.0.0.1', 'fd00::1'],
    domain: 'net.acme.cluster.local',
    search: ['acme.svc.cluster.local', 'net.acme.cluster.local', 'acme.cluster.local'],
  });
});

test('records of a tenant whose services and endpoints are the same objects as last time are not made again; any changed object makes them again', () => {
  const api = service('api', ['10.96.0.10']);
  const web = endpoint('web');
  const first = tenantRecords(tenant({ services: [api], endpoints: [web] }), 'cache.test');
  // A new view (new arrays) of the same objects: the same records, and the same hosts file.
  const again = tenantRecords(tenant({ services: [api], endpoints: [web] }), 'cache.test');
  assert.equal(again, first);
  assert.equal(hostsFile(again), hostsFile(first));
  // A changed service (a new object, as the follower makes one) or endpoint: made again.
  const moved = tenantRecords(tenant({ services: [service('api', ['10.96.0.11'])], endpoints: [web] }), 'cache.test');
  assert.notEqual(moved, first);
  assert.deepEqual(
    moved.addresses.map((r) => r.address),
    ['10.96.0.11', '10.0.0.5'],
  );
  const readdressed = tenantRecords(tenant({ services: [api], endpoints: [endpoint('web', { ipv4: '10.0.0.6' })] }), 'cache.test');
  assert.deepEqual(
    readdressed.addresses.map((r) => r.address),
    ['10.96.0.10', '10.0.0.6'],
  );
  // Another domain is another entry.
  assert.equal(tenantRecords(tenant({ services: [api], endpoints: [web] }), 'other.test').addresses[0].name, 'api.acme.svc.other.test');
});
