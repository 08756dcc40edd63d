/**
 * Writes test/conformance/cases/*.json: conformance cases translated from the meaning of the
 * upstream suites (Kubernetes test/e2e/network/netpol, cyclonus-style truth tables,
 * network-policy-api conformance). Each case states its expected verdicts with the same
 * vocabulary the upstream tests use (a default, then expectations per peer, later ones
 * overriding earlier ones), so expectations are derived from upstream, never from Tenet.
 *
 * Run: node dist/test/conformance/build-cases.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOST_NETWORK_PORTS, MANIFESTS, TESTS, type Poke as UpstreamPoke } from './cnp-upstream';

type Labels = Record<string, string>;
interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  ip: string;
  containerPorts: Array<{ name: string; port: number; protocol: string }>;
  /** Host-network pod: it has its node's address and is no endpoint. */
  hostNetwork?: boolean;
}
interface Probe {
  from: string;
  to: string;
  port: number;
  protocol: string;
}
interface Case {
  name: string;
  source: string;
  universe: {
    namespaces: Array<{ name: string; labels: Labels }>;
    pods: Pod[];
    hosts?: Array<{ name: string; labels: Labels; ip: string }>;
  };
  policies: unknown[];
  probes: Probe[];
}

// ---------------------------------------------------------------- universes

function xyz(): Case['universe'] {
  const namespaces = ['x', 'y', 'z'].map((ns) => ({ name: ns, labels: { ns, 'kubernetes.io/metadata.name': ns } }));
  const pods: Pod[] = [];
  ['x', 'y', 'z'].forEach((ns, i) =>
    ['a', 'b', 'c'].forEach((pod, j) =>
      pods.push({
        namespace: ns,
        name: pod,
        labels: { pod },
        ip: `192.168.${i + 1}.${j + 1}`,
        containerPorts: [80, 81].flatMap((port) =>
          ['TCP', 'UDP', 'SCTP'].map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })),
        ),
      }),
    ),
  );
  return { namespaces, pods };
}

const HOUSES = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'];
const PEOPLE: Record<string, string> = {
  gryffindor: 'harry-potter',
  slytherin: 'draco-malfoy',
  hufflepuff: 'cedric-diggory',
  ravenclaw: 'luna-lovegood',
};

function hogwarts(): Case['universe'] {
  const ns = (house: string) => `network-policy-conformance-${house}`;
  const namespaces = [...HOUSES, 'hogwarts-staff'].map((house) => ({
    name: ns(house),
    labels: { 'conformance-house': house, 'kubernetes.io/metadata.name': ns(house) },
  }));
  const ports = [
    { name: 'tcp-80', port: 80, protocol: 'TCP' },
    { name: 'tcp-8080', port: 8080, protocol: 'TCP' },
    { name: 'udp-5353', port: 5353, protocol: 'UDP' },
    { name: 'udp-53', port: 53, protocol: 'UDP' },
    { name: 'sctp-9003', port: 9003, protocol: 'SCTP' },
    { name: 'sctp-9005', port: 9005, protocol: 'SCTP' },
  ];
  const pods: Pod[] = [];
  HOUSES.forEach((house, i) => {
    for (const n of [0, 1]) {
      const name = `${PEOPLE[house]}-${n}`;
      pods.push({
        namespace: ns(house),
        name,
        labels: { 'conformance-house': house, 'statefulset.kubernetes.io/pod-name': name },
        ip: `10.244.${i + 1}.${n + 10}`,
        containerPorts: ports,
      });
    }
  });
  ['professor-dumbledore-0', 'professor-quirrell-0'].forEach((name, n) =>
    pods.push({
      namespace: ns('hogwarts-staff'),
      name,
      labels: { 'statefulset.kubernetes.io/pod-name': name },
      ip: `10.244.9.${n + 10}`,
      containerPorts: ports,
    }),
  );
  return { namespaces, pods };
}

// ---------------------------------------------------------------- expectations

interface PeerFilter {
  namespace?: string;
  pod?: string;
}

/** A truth table over ordered pod pairs, in the vocabulary of the upstream e2e tests. */
class Reachability {
  private readonly table = new Map<string, boolean>();
  constructor(
    private readonly pods: Pod[],
    initial: boolean,
  ) {
    for (const a of pods) for (const b of pods) this.table.set(`${key(a)}>${key(b)}`, initial);
  }
  expectPeer(from: PeerFilter, to: PeerFilter, value: boolean): this {
    for (const a of this.pods.filter((p) => matches(p, from)))
      for (const b of this.pods.filter((p) => matches(p, to))) this.table.set(`${key(a)}>${key(b)}`, value);
    return this;
  }
  expect(from: string, to: string, value: boolean): this {
    this.table.set(`${from}>${to}`, value);
    return this;
  }
  allIngress(pod: string, value: boolean): this {
    const [namespace, name] = pod.split('/');
    return this.expectPeer({}, { namespace, pod: name }, value);
  }
  allEgress(pod: string, value: boolean): this {
    const [namespace, name] = pod.split('/');
    return this.expectPeer({ namespace, pod: name }, {}, value);
  }
  get(from: string, to: string): boolean {
    return this.table.get(`${from}>${to}`)!;
  }
}

function key(pod: Pod): string {
  return `${pod.namespace}/${pod.name}`;
}
function matches(pod: Pod, filter: PeerFilter): boolean {
  return (filter.namespace === undefined || pod.namespace === filter.namespace) && (filter.pod === undefined || pod.name === filter.pod);
}

interface Check {
  port: number;
  protocol: string;
  reach: Reachability;
  /** Only these (from, to) pairs, as the network-policy-api tests poke single pairs. */
  pairs?: Array<[string, string]>;
}

const cases: Array<{ c: Case; checks: Check[] }> = [];

function add(
  name: string,
  source: string,
  universe: Case['universe'],
  policies: unknown[],
  checks: (u: Case['universe']) => Check[],
): void {
  const list = checks(universe);
  const probes: Probe[] = [];
  for (const check of list) {
    if (check.pairs) {
      for (const [from, to] of check.pairs) probes.push({ from, to, port: check.port, protocol: check.protocol });
      continue;
    }
    for (const a of universe.pods)
      for (const b of universe.pods) if (a !== b) probes.push({ from: key(a), to: key(b), port: check.port, protocol: check.protocol });
  }
  cases.push({ c: { name, source, universe, policies, probes }, checks: list });
}

// ---------------------------------------------------------------- NetworkPolicy helpers

function np(namespace: string, name: string, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}
const podIs = (pod: string) => ({ matchLabels: { pod } });
const nsIs = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });
const R = (u: Case['universe'], initial = true) => new Reachability(u.pods, initial);
const tcp = (port: number, reach: Reachability): Check => ({ port, protocol: 'TCP', reach });
const E2E = 'kubernetes test/e2e/network/netpol';

// ---------------------------------------------------------------- Kubernetes e2e (meaning translated)

add('e2e-default-deny-ingress', E2E, xyz(), [np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })], (u) => [
  tcp(80, R(u).expectPeer({}, { namespace: 'x' }, false)),
]);
for (const protocol of ['UDP', 'SCTP']) {
  add(
    `e2e-default-deny-ingress-${protocol.toLowerCase()}`,
    E2E,
    xyz(),
    [np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })],
    (u) => [{ port: 80, protocol, reach: R(u).expectPeer({}, { namespace: 'x' }, false) }],
  );
}
add('e2e-default-deny-all', E2E, xyz(), [np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], (u) => [
  tcp(80, R(u).expectPeer({}, { namespace: 'x' }, false).expectPeer({ namespace: 'x' }, {}, false)),
]);
add(
  'e2e-ingress-from-pod-in-same-namespace',
  E2E,
  xyz(),
  [np('x', 'x-a-allows-x-b', { podSelector: podIs('a'), policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: podIs('b') }] }] })],
  (u) => [tcp(80, R(u).allIngress('x/a', false).expect('x/b', 'x/a', true))],
);
add(
  'e2e-allow-ingress-for-a-target',
  E2E,
  xyz(),
  [
    np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
    np('x', 'allow-all-to-a', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allIngress('x/a', true).allIngress('x/b', false).allIngress('x/c', false))],
);
add(
  'e2e-ingress-from-all-namespaces',
  E2E,
  xyz(),
  [
    np('x', 'allow-from-another-ns', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }],
    }),
  ],
  (u) => [tcp(80, R(u))],
);
for (const [suffix, selector] of [
  ['matchlabels', nsIs('y')],
  ['matchexpressions', { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['y'] }] }],
] as const) {
  add(
    `e2e-ingress-only-from-namespace-${suffix}`,
    E2E,
    xyz(),
    [
      np('x', 'allow-client-a-via-ns-selector', {
        podSelector: podIs('a'),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: selector }] }],
      }),
    ],
    (u) => [
      tcp(
        80,
        R(u)
          .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
          .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
      ),
    ],
  );
}
add(
  'e2e-podselector-matchexpressions',
  E2E,
  xyz(),
  [
    np('x', 'x-a-allows-x-b', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allIngress('x/a', false).expect('x/b', 'x/a', true))],
);
const notX = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['x'] }] };
add(
  'e2e-podselector-or-namespaceselector',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-y-match-selector', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: notX }, { podSelector: podIs('b') }] }],
    }),
  ],
  (u) => [tcp(80, R(u).expect('x/c', 'x/a', false))],
);
add(
  'e2e-podselector-and-namespaceselector',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-y-podselector-and-nsselector', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: notX, podSelector: podIs('b') }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true))],
);
add(
  'e2e-multiple-podselectors-and-namespaceselectors',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-y-z-pod-b-c', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ namespaceSelector: notX, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] },
      ],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u).expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false).expect('y/a', 'x/a', false).expect('z/a', 'x/a', false),
    ),
  ],
);
add(
  'e2e-any-podselectors',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-x-pod-b-c', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: podIs('b') }, { podSelector: podIs('c') }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true))],
);
add(
  'e2e-ingress-from-pod-in-other-namespace',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-y-pod-a', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }],
    }),
  ],
  (u) => [
    tcp(80, R(u).allIngress('x/a', false).expect('y/a', 'x/a', true)),
    { port: 80, protocol: 'UDP', reach: R(u).allIngress('x/a', false).expect('y/a', 'x/a', true) },
  ],
);
add(
  'e2e-ports',
  E2E,
  xyz(),
  [
    np('x', 'allow-port-81', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 81, protocol: 'TCP' }] }],
    }),
  ],
  (u) => [
    tcp(
      81,
      R(u)
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
    ),
    tcp(80, R(u).allIngress('x/a', false)),
  ],
);
add(
  'e2e-stacked-policies-overlapping-podselectors',
  E2E,
  xyz(),
  [
    np('x', 'allow-port-81', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 81, protocol: 'TCP' }] }],
    }),
    np('x', 'allow-port-80', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 80, protocol: 'TCP' }] }],
    }),
  ],
  (u) => {
    const allow = () =>
      R(u)
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false);
    return [tcp(81, allow()), tcp(80, allow())];
  },
);
add('e2e-allow-all', E2E, xyz(), [np('x', 'allow-all', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] })], (u) => [
  tcp(80, R(u)),
  tcp(81, R(u)),
]);
add(
  'e2e-ingress-one-named-port',
  E2E,
  xyz(),
  [np('x', 'allow-81-named', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
  (u) => [tcp(81, R(u)), tcp(80, R(u).expectPeer({}, { namespace: 'x' }, false))],
);
add(
  'e2e-ingress-from-namespace-on-named-port',
  E2E,
  xyz(),
  [
    np('x', 'allow-80-named-from-y', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u)
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
    ),
    tcp(81, R(u).allIngress('x/a', false)),
  ],
);
add(
  'e2e-egress-one-named-port',
  E2E,
  xyz(),
  [np('x', 'allow-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
  (u) => [tcp(80, R(u)), tcp(81, R(u).expectPeer({ namespace: 'x' }, {}, false))],
);
add(
  'e2e-updated-policy-deny-all',
  E2E,
  xyz(),
  [np('x', 'allow-all-mutate-to-deny-all', { podSelector: {}, policyTypes: ['Ingress'], ingress: [] })],
  (u) => [tcp(81, R(u).expectPeer({}, { namespace: 'x' }, false))],
);
{
  // Namespace y gains the label ns2=updated: everything from y reaches x/a.
  const universe = xyz();
  universe.namespaces[1].labels.ns2 = 'updated';
  add(
    'e2e-ingress-from-updated-namespace',
    E2E,
    universe,
    [
      np('x', 'allow-client-a-via-ns-selector', {
        podSelector: podIs('a'),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns2: 'updated' } } }] }],
      }),
    ],
    (u) => [tcp(80, R(u).allIngress('x/a', false).expectPeer({ namespace: 'y' }, {}, true))],
  );
}
{
  const universe = xyz();
  universe.pods.find((p) => p.namespace === 'x' && p.name === 'b')!.labels.pod2 = 'updated';
  add(
    'e2e-ingress-from-updated-pod',
    E2E,
    universe,
    [
      np('x', 'allow-client-a-via-pod-selector', {
        podSelector: podIs('a'),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b', pod2: 'updated' } } }] }],
      }),
    ],
    (u) => [tcp(80, R(u).allIngress('x/a', false).expect('x/b', 'x/a', true))],
  );
}
add(
  'e2e-deny-ingress-from-other-namespaces',
  E2E,
  xyz(),
  [
    np('x', 'deny-empty-policy', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }],
    }),
  ],
  (u) => [
    tcp(80, R(u).expectPeer({ namespace: 'y' }, { namespace: 'x' }, false).expectPeer({ namespace: 'z' }, { namespace: 'x' }, false)),
  ],
);
{
  const universe = xyz();
  universe.pods.find((p) => p.namespace === 'x' && p.name === 'a')!.labels.target = 'isolated';
  add(
    'e2e-deny-ingress-to-updated-pod',
    E2E,
    universe,
    [np('x', 'deny-ingress-via-label-selector', { podSelector: { matchLabels: { target: 'isolated' } }, policyTypes: ['Ingress'] })],
    (u) => [tcp(80, R(u).allIngress('x/a', false))],
  );
}
add(
  'e2e-deny-egress-podselector',
  E2E,
  xyz(),
  [np('x', 'deny-egress-pod-a', { podSelector: podIs('a'), policyTypes: ['Egress'] })],
  (u) => [tcp(80, R(u).allEgress('x/a', false))],
);
add('e2e-deny-egress-namespace', E2E, xyz(), [np('x', 'deny-egress-ns-x', { podSelector: {}, policyTypes: ['Egress'] })], (u) => [
  tcp(80, R(u).expectPeer({ namespace: 'x' }, {}, false)),
]);
add(
  'e2e-ingress-and-egress-together',
  E2E,
  xyz(),
  [
    np('x', 'allow-client-a-via-pod-selector', {
      podSelector: podIs('a'),
      policyTypes: ['Egress', 'Ingress'],
      ingress: [{ from: [{ podSelector: podIs('b') }] }],
      egress: [{ ports: [{ port: 80 }] }],
    }),
  ],
  (u) => [
    tcp(80, R(u).allIngress('x/a', false).expect('x/b', 'x/a', true)),
    tcp(81, R(u).allIngress('x/a', false).allEgress('x/a', false).expect('x/b', 'x/a', true)),
  ],
);
add(
  'e2e-egress-denied-on-client-even-if-server-allows',
  E2E,
  xyz(),
  [
    np('x', 'allow-to-ns-y-pod-a', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }],
    }),
    np('y', 'allow-from-xa-on-ya', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }],
    }),
    np('y', 'allow-from-xa-on-yb', {
      podSelector: podIs('b'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u)
        .expectPeer({ namespace: 'x', pod: 'a' }, {}, false)
        .expectPeer({}, { namespace: 'y', pod: 'a' }, false)
        .expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'y', pod: 'a' }, true)
        .expectPeer({}, { namespace: 'y', pod: 'b' }, false),
    ),
  ],
);
add(
  'e2e-egress-to-pod-in-other-namespace',
  E2E,
  xyz(),
  [
    np('x', 'allow-to-ns-y-pod-a', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allEgress('x/a', false).expect('x/a', 'y/a', true))],
);
add(
  'e2e-ingress-any-port-on-protocol',
  E2E,
  xyz(),
  [np('x', 'allow-ingress-by-proto', { podSelector: podIs('a'), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
  (u) => [tcp(80, R(u)), { port: 80, protocol: 'UDP', reach: R(u).allIngress('x/a', false) }],
);
add(
  'e2e-ingress-allow-all-takes-precedence',
  E2E,
  xyz(),
  [
    np('x', 'allow-ingress-port-80', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] }),
    np('x', 'allow-ingress', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] }),
  ],
  (u) => [tcp(81, R(u))],
);
add(
  'e2e-ingress-only-port-80',
  E2E,
  xyz(),
  [np('x', 'allow-ingress-port-80', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] })],
  (u) => [tcp(81, R(u).expectPeer({}, { namespace: 'x' }, false))],
);
add(
  'e2e-egress-allow-all-takes-precedence',
  E2E,
  xyz(),
  [
    np('x', 'allow-egress-port-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] }),
    np('x', 'allow-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }),
  ],
  (u) => [tcp(81, R(u))],
);
add(
  'e2e-egress-only-port-80',
  E2E,
  xyz(),
  [np('x', 'allow-egress-port-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] })],
  (u) => [tcp(81, R(u).expectPeer({ namespace: 'x' }, {}, false))],
);
add('e2e-policies-deleted', E2E, xyz(), [], (u) => [tcp(80, R(u))]);
add(
  'e2e-egress-to-cidr-block',
  E2E,
  xyz(),
  [
    np('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.2.2/32' } }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allEgress('x/a', false).expect('x/a', 'y/b', true))],
);
add(
  'e2e-egress-cidr-except',
  E2E,
  xyz(),
  [
    np('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.2/32'] } }] }],
    }),
  ],
  (u) => [tcp(80, R(u).expect('x/a', 'x/b', false))],
);
add(
  'e2e-egress-cidr-except-overlap-allowed-by-other-policy',
  E2E,
  xyz(),
  [
    np('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.2/32'] } }] }],
    }),
    np('x', 'allow-client-a-to-b', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.1.2/32' } }] }],
    }),
  ],
  (u) => [tcp(80, R(u))],
);
add(
  'e2e-egress-cidr-replaced-by-single-ip',
  E2E,
  xyz(),
  [
    np('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.1.2/32' } }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allEgress('x/a', false).expect('x/a', 'x/b', true))],
);
add(
  'e2e-ingress-egress-independent',
  E2E,
  xyz(),
  [
    np('x', 'allow-egress-for-target', { podSelector: podIs('a'), policyTypes: ['Egress'], egress: [{}] }),
    np('x', 'deny-ingress-via-label-selector', { podSelector: podIs('a'), policyTypes: ['Ingress'] }),
  ],
  (u) => [tcp(80, R(u).allIngress('x/a', false))],
);
add(
  'e2e-sctp-is-not-tcp',
  E2E,
  xyz(),
  [
    np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
    np('x', 'allow-only-sctp-ingress-on-port-81', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }],
    }),
  ],
  (u) => [
    tcp(81, R(u).expectPeer({}, { namespace: 'x' }, false)),
    { port: 81, protocol: 'SCTP', reach: R(u).expectPeer({}, { namespace: 'x' }, false).allIngress('x/a', true) },
  ],
);
add(
  'e2e-sctp-only-policy-isolates',
  E2E,
  xyz(),
  [
    np('x', 'allow-only-sctp-ingress-on-port-80', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }],
    }),
  ],
  (u) => [tcp(81, R(u).allIngress('x/a', false))],
);
add(
  'e2e-udp-only-policy-blocks-tcp',
  E2E,
  xyz(),
  [
    np('x', 'allow-only-udp-ingress-on-port-81', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }],
    }),
  ],
  (u) => [tcp(81, R(u).allIngress('x/a', false)), { port: 81, protocol: 'UDP', reach: R(u) }],
);
add(
  'e2e-egress-namespaceselector-notin',
  E2E,
  xyz(),
  [
    np('x', 'allow-ns-not-y', {
      podSelector: podIs('a'),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['y'] }] } }] },
      ],
    }),
  ],
  (u) => [tcp(80, R(u).expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'y' }, false))],
);
for (const protocol of ['UDP', 'SCTP']) {
  add(
    `e2e-ports-${protocol.toLowerCase()}`,
    E2E,
    xyz(),
    [
      np('x', 'allow-ingress-on-port-81-ns-x', {
        podSelector: podIs('a'),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 81, protocol }] }],
      }),
    ],
    (u) => [
      {
        port: 81,
        protocol,
        reach: R(u)
          .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
          .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
      },
    ],
  );
}

// ---------------------------------------------------------------- cyclonus-style truth tables

const CYCLONUS = 'cyclonus generator (meaning of its target/peer/port dimensions)';
add(
  'cyclonus-endport-range',
  CYCLONUS,
  xyz(),
  [
    np('y', 'range-80-81', {
      podSelector: podIs('b'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }],
    }),
  ],
  (u) => [tcp(80, R(u)), tcp(81, R(u)), { port: 80, protocol: 'UDP', reach: R(u).allIngress('y/b', false) }],
);
add(
  'cyclonus-endport-excludes-upper',
  CYCLONUS,
  xyz(),
  [
    np('y', 'range-70-80', {
      podSelector: podIs('b'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 70, endPort: 80 }] }],
    }),
  ],
  (u) => [tcp(80, R(u)), tcp(81, R(u).allIngress('y/b', false))],
);
add(
  'cyclonus-empty-peer-list-vs-absent',
  CYCLONUS,
  xyz(),
  [
    np('z', 'from-empty-list', {
      podSelector: podIs('c'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [], ports: [{ port: 81, protocol: 'UDP' }] }],
    }),
  ],
  (u) => [{ port: 81, protocol: 'UDP', reach: R(u) }, tcp(81, R(u).allIngress('z/c', false))],
);
add(
  'cyclonus-policytypes-egress-only-leaves-ingress-open',
  CYCLONUS,
  xyz(),
  [
    np('x', 'egress-typed', {
      podSelector: {},
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: podIs('zzz') }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
  ],
  (u) => [tcp(80, R(u).expectPeer({ namespace: 'x' }, {}, false).expectPeer({ namespace: 'x' }, { namespace: 'x' }, true))],
);
add(
  'cyclonus-policytypes-default-from-egress-section',
  CYCLONUS,
  xyz(),
  // No policyTypes: Ingress always, Egress because an egress section is present.
  [np('y', 'implicit-types', { podSelector: podIs('c'), egress: [{ to: [{ namespaceSelector: nsIs('z') }] }] })],
  (u) => [
    tcp(80, R(u).allIngress('y/c', false).allEgress('y/c', false).expectPeer({ namespace: 'y', pod: 'c' }, { namespace: 'z' }, true)),
  ],
);
add(
  'cyclonus-union-of-ingress-rules',
  CYCLONUS,
  xyz(),
  [
    np('x', 'p1', {
      podSelector: podIs('b'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podIs('c') }], ports: [{ port: 80 }] }],
    }),
    np('x', 'p2', {
      podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: podIs('a') }] }],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u)
        .allIngress('x/b', false)
        .allIngress('x/c', false)
        .expect('y/c', 'x/b', true)
        .expect('x/a', 'x/b', true)
        .expect('x/a', 'x/c', true),
    ),
    tcp(81, R(u).allIngress('x/b', false).allIngress('x/c', false).expect('x/a', 'x/b', true).expect('x/a', 'x/c', true)),
  ],
);
add(
  'cyclonus-ipblock-with-except-ingress',
  CYCLONUS,
  xyz(),
  [
    np('z', 'cidr-in', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '192.168.2.0/24', except: ['192.168.2.0/31'] } }] }],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u)
        .expectPeer({}, { namespace: 'z' }, false)
        .expect('y/b', 'z/a', true)
        .expect('y/b', 'z/b', true)
        .expect('y/b', 'z/c', true)
        .expect('y/c', 'z/a', true)
        .expect('y/c', 'z/b', true)
        .expect('y/c', 'z/c', true),
    ),
  ],
);
add(
  'cyclonus-namespace-exists-expression',
  CYCLONUS,
  xyz(),
  [
    np('x', 'from-ns-with-label', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'Exists' }] },
              podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] },
            },
          ],
        },
      ],
    }),
  ],
  (u) => [
    tcp(
      80,
      R(u)
        .allIngress('x/a', false)
        .expectPeer({ pod: 'b' }, { namespace: 'x', pod: 'a' }, true)
        .expectPeer({ pod: 'c' }, { namespace: 'x', pod: 'a' }, true),
    ),
  ],
);
add(
  'cyclonus-named-port-protocol-must-match',
  CYCLONUS,
  xyz(),
  // serve-80-udp is a UDP port: naming it with protocol TCP matches nothing.
  [
    np('y', 'named-mismatch', {
      podSelector: podIs('a'),
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'TCP' }] }],
    }),
  ],
  (u) => [tcp(80, R(u).allIngress('y/a', false)), { port: 80, protocol: 'UDP', reach: R(u).allIngress('y/a', false) }],
);
add(
  'cyclonus-named-port-egress-to-namespace',
  CYCLONUS,
  xyz(),
  [
    np('x', 'named-egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsIs('z') }], ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }],
    }),
  ],
  (u) => [
    {
      port: 81,
      protocol: 'UDP',
      reach: R(u).expectPeer({ namespace: 'x' }, {}, false).expectPeer({ namespace: 'x' }, { namespace: 'z' }, true),
    },
    tcp(81, R(u).expectPeer({ namespace: 'x' }, {}, false)),
  ],
);

// ---------------------------------------------------------------- network-policy-api conformance

const NPAPI = 'kubernetes-sigs/network-policy-api conformance';
const nsH = (house: string) => `network-policy-conformance-${house}`;
const pod = (house: string, n: number) => `${nsH(house)}/${PEOPLE[house]}-${n}`;
const staff = (name: string) => `${nsH('hogwarts-staff')}/${name}`;
function anp(name: string, priority: number, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec: { priority, ...spec } };
}
function banp(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'default' }, spec };
}
const houseNs = (house: string) => ({ namespaces: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': nsH(house) } } } });
const staffPod = (name: string) => ({
  pods: {
    namespaces: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': nsH('hogwarts-staff') } } },
    podSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': name } },
  },
});
const three = (tcpPort: number, udpPort: number, sctpPort: number) => [
  { portNumber: { protocol: 'TCP', port: tcpPort } },
  { portNumber: { protocol: 'UDP', port: udpPort } },
  { portNumber: { protocol: 'SCTP', port: sctpPort } },
];

function gressRules(swapFirstTwo: boolean): unknown {
  const egress: Array<Record<string, unknown>> = [
    { name: 'allow-to-ravenclaw-everything', action: 'Allow', to: [houseNs('ravenclaw')] },
    { name: 'deny-to-ravenclaw-everything', action: 'Deny', to: [houseNs('ravenclaw')] },
    { name: 'pass-to-ravenclaw-everything', action: 'Pass', to: [houseNs('ravenclaw')] },
    { name: 'deny-to-slytherin-at-ports-80-53-9003', action: 'Deny', to: [houseNs('slytherin')], ports: three(80, 53, 9003) },
    { name: 'pass-to-slytherin-at-port-80-53-9003', action: 'Pass', to: [houseNs('slytherin')], ports: three(80, 53, 9003) },
    { name: 'allow-to-hufflepuff-at-ports-8080-5353', action: 'Allow', to: [houseNs('hufflepuff')], ports: three(8080, 5353, 9003) },
    { name: 'deny-to-hufflepuff-everything-else', action: 'Deny', to: [houseNs('hufflepuff')] },
    {
      name: 'allow-to-dumbledore-at-tcp-udp-sctp',
      action: 'Allow',
      to: [staffPod('professor-dumbledore-0')],
      ports: three(8080, 5353, 9003),
    },
    { name: 'deny-to-dumbledore-everything-else', action: 'Deny', to: [staffPod('professor-dumbledore-0')] },
    { name: 'deny-to-quirrell-at-tcp-udp-sctp', action: 'Deny', to: [staffPod('professor-quirrell-0')], ports: three(8080, 5353, 9003) },
  ];
  const ingress: Array<Record<string, unknown>> = [
    { name: 'allow-from-ravenclaw-everything', action: 'Allow', from: [houseNs('ravenclaw')] },
    { name: 'deny-from-ravenclaw-everything', action: 'Deny', from: [houseNs('ravenclaw')] },
    { name: 'pass-from-ravenclaw-everything', action: 'Pass', from: [houseNs('ravenclaw')] },
    { name: 'deny-from-slytherin-at-port-80-53-9003', action: 'Deny', from: [houseNs('slytherin')], ports: three(80, 53, 9003) },
    { name: 'pass-from-slytherin-at-port-80-53-9003', action: 'Pass', from: [houseNs('slytherin')], ports: three(80, 53, 9003) },
    { name: 'allow-from-hufflepuff-at-port-80-5353-9003', action: 'Allow', from: [houseNs('hufflepuff')], ports: three(80, 5353, 9003) },
    { name: 'deny-from-hufflepuff-everything-else', action: 'Deny', from: [houseNs('hufflepuff')] },
    {
      name: 'allow-from-dumbledore-at-tcp-udp-sctp',
      action: 'Allow',
      from: [staffPod('professor-dumbledore-0')],
      ports: three(8080, 5353, 9003),
    },
    { name: 'deny-from-dumbledore-everything-else', action: 'Deny', from: [staffPod('professor-dumbledore-0')] },
    {
      name: 'deny-from-quirrell-at-tcp-udp-sctp',
      action: 'Deny',
      from: [staffPod('professor-quirrell-0')],
      ports: three(8080, 5353, 9003),
    },
  ];
  if (swapFirstTwo) {
    [egress[0], egress[1]] = [egress[1], egress[0]];
    [ingress[0], ingress[1]] = [ingress[1], ingress[0]];
  }
  return anp('gress-rules', 15, {
    subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': nsH('gryffindor') } } },
    egress,
    ingress,
  });
}

/** Single pokes: [from, to, port, protocol, allowed]. */
type Poke = [string, string, number, string, boolean];
function pokes(name: string, universe: Case['universe'], policies: unknown[], list: Poke[]): void {
  add(name, NPAPI, universe, policies, (u) =>
    list.map(([from, to, port, protocol, allowed]) => ({
      port,
      protocol,
      reach: R(u, !allowed).expect(from, to, allowed),
      pairs: [[from, to]],
    })),
  );
}

pokes(
  'npapi-anp-gress-rules-order-allow-first',
  hogwarts(),
  [gressRules(false)],
  [
    [pod('gryffindor', 0), pod('ravenclaw', 0), 80, 'TCP', true],
    [pod('gryffindor', 1), pod('ravenclaw', 0), 53, 'UDP', true],
    [pod('gryffindor', 0), pod('ravenclaw', 0), 9003, 'SCTP', true],
    [pod('ravenclaw', 0), pod('gryffindor', 0), 80, 'TCP', true],
    [pod('ravenclaw', 1), pod('gryffindor', 0), 53, 'UDP', true],
    [pod('ravenclaw', 1), pod('gryffindor', 0), 9003, 'SCTP', true],
    [pod('gryffindor', 0), pod('hufflepuff', 1), 8080, 'TCP', true],
    [pod('gryffindor', 1), pod('hufflepuff', 1), 80, 'TCP', false],
    [pod('gryffindor', 0), pod('hufflepuff', 1), 5353, 'UDP', true],
    [pod('gryffindor', 1), pod('hufflepuff', 1), 53, 'UDP', false],
    [pod('gryffindor', 0), pod('hufflepuff', 1), 9003, 'SCTP', true],
    [pod('gryffindor', 1), pod('hufflepuff', 1), 9005, 'SCTP', false],
    [pod('hufflepuff', 0), pod('gryffindor', 1), 80, 'TCP', true],
    [pod('hufflepuff', 1), pod('gryffindor', 1), 8080, 'TCP', false],
    [pod('hufflepuff', 0), pod('gryffindor', 1), 5353, 'UDP', true],
    [pod('hufflepuff', 1), pod('gryffindor', 1), 53, 'UDP', false],
    [pod('hufflepuff', 0), pod('gryffindor', 1), 9003, 'SCTP', true],
    [pod('hufflepuff', 1), pod('gryffindor', 1), 9005, 'SCTP', false],
    [staff('professor-dumbledore-0'), pod('gryffindor', 0), 8080, 'TCP', true],
    [staff('professor-dumbledore-0'), pod('gryffindor', 0), 5353, 'UDP', true],
    [staff('professor-dumbledore-0'), pod('gryffindor', 0), 9003, 'SCTP', true],
    [staff('professor-dumbledore-0'), pod('gryffindor', 0), 80, 'TCP', false],
    [staff('professor-quirrell-0'), pod('gryffindor', 0), 8080, 'TCP', false],
    [staff('professor-quirrell-0'), pod('gryffindor', 0), 5353, 'UDP', false],
    [staff('professor-quirrell-0'), pod('gryffindor', 0), 9003, 'SCTP', false],
    [staff('professor-quirrell-0'), pod('gryffindor', 0), 80, 'TCP', true],
    // Passed traffic with no NetworkPolicy and no BANP: allowed by default.
    [pod('gryffindor', 0), pod('slytherin', 0), 8080, 'TCP', true],
    [pod('gryffindor', 0), pod('slytherin', 0), 80, 'TCP', false],
    [pod('slytherin', 1), pod('gryffindor', 1), 53, 'UDP', false],
    [pod('slytherin', 1), pod('gryffindor', 1), 5353, 'UDP', true],
  ],
);
pokes(
  'npapi-anp-gress-rules-order-deny-first',
  hogwarts(),
  [gressRules(true)],
  [
    [pod('gryffindor', 0), pod('ravenclaw', 1), 80, 'TCP', false],
    [pod('gryffindor', 1), pod('ravenclaw', 1), 53, 'UDP', false],
    [pod('gryffindor', 0), pod('ravenclaw', 1), 9003, 'SCTP', false],
    [pod('ravenclaw', 0), pod('gryffindor', 1), 80, 'TCP', false],
    [pod('ravenclaw', 1), pod('gryffindor', 1), 53, 'UDP', false],
    [pod('ravenclaw', 0), pod('gryffindor', 1), 9003, 'SCTP', false],
  ],
);

const integrationPolicies = (ingressAction: string, egressAction: string, withNp: boolean) => {
  const slytherin = { namespaces: { namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } } } };
  const list: unknown[] = [
    anp('pass-example', 10, {
      subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
      ingress: [{ name: 'ingress-from-slytherin', action: ingressAction, from: [slytherin] }],
      egress: [{ name: 'egress-to-slytherin', action: egressAction, to: [slytherin] }],
    }),
    banp({
      subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
      ingress: [{ name: 'deny-all-ingress-from-slytherin', action: 'Deny', from: [slytherin] }],
      egress: [{ name: 'deny-all-egress-to-slytherin', action: 'Deny', to: [slytherin] }],
    }),
  ];
  if (withNp) {
    list.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-gress-from-to-slytherin-to-gryffindor', namespace: nsH('gryffindor') },
      spec: {
        podSelector: null,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } } }] }],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } } }] }],
      },
    });
  }
  return list;
};
pokes('npapi-integration-anp-deny-wins', hogwarts(), integrationPolicies('Deny', 'Deny', true), [
  [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', false],
  [pod('slytherin', 1), pod('gryffindor', 0), 8080, 'TCP', false],
  [pod('gryffindor', 0), pod('slytherin', 0), 80, 'TCP', false],
  [pod('gryffindor', 1), pod('slytherin', 0), 8080, 'TCP', false],
]);
pokes('npapi-integration-pass-to-networkpolicy', hogwarts(), integrationPolicies('Pass', 'Pass', true), [
  [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', true],
  [pod('slytherin', 1), pod('gryffindor', 0), 8080, 'TCP', true],
  [pod('gryffindor', 0), pod('slytherin', 0), 80, 'TCP', true],
  [pod('gryffindor', 1), pod('slytherin', 0), 8080, 'TCP', true],
  // The NetworkPolicy isolates gryffindor: other houses are denied by it.
  [pod('hufflepuff', 0), pod('gryffindor', 0), 80, 'TCP', false],
  [pod('gryffindor', 0), pod('ravenclaw', 0), 80, 'TCP', false],
]);
pokes('npapi-integration-pass-to-baseline', hogwarts(), integrationPolicies('Pass', 'Pass', false), [
  [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', false],
  [pod('slytherin', 1), pod('gryffindor', 0), 8080, 'TCP', false],
  [pod('gryffindor', 0), pod('slytherin', 0), 80, 'TCP', false],
  [pod('gryffindor', 1), pod('slytherin', 0), 8080, 'TCP', false],
  [pod('hufflepuff', 0), pod('gryffindor', 0), 80, 'TCP', true],
]);

// Priority: the lower number wins; with subjects overlapping, an Allow at 3 beats a Deny at 4.
const priorityPolicies = (allowPriority: number, denyPriority: number) => [
  anp('old-priority-allow', allowPriority, {
    subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
    ingress: [
      {
        name: 'allow-all-ingress-from-slytherin',
        action: 'Allow',
        from: [{ namespaces: { namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } } } }],
      },
    ],
  }),
  anp('new-priority-deny', denyPriority, {
    subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
    ingress: [
      {
        name: 'deny-all-ingress-from-slytherin',
        action: 'Deny',
        from: [{ namespaces: { namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } } } }],
      },
    ],
  }),
];
pokes('npapi-priority-allow-higher', hogwarts(), priorityPolicies(3, 4), [
  [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', true],
  [pod('slytherin', 1), pod('gryffindor', 1), 5353, 'UDP', true],
]);
pokes('npapi-priority-deny-higher', hogwarts(), priorityPolicies(6, 4), [
  [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', false],
  [pod('slytherin', 1), pod('gryffindor', 1), 5353, 'UDP', false],
]);
pokes(
  'npapi-banp-port-range-and-named-port',
  hogwarts(),
  [
    banp({
      subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
      ingress: [
        { name: 'allow-named', action: 'Allow', from: [{ namespaces: {} }], ports: [{ namedPort: 'udp-5353' }] },
        {
          name: 'allow-range',
          action: 'Allow',
          from: [{ namespaces: {} }],
          ports: [{ portRange: { protocol: 'TCP', start: 8000, end: 8100 } }],
        },
        { name: 'deny-rest', action: 'Deny', from: [{ namespaces: {} }] },
      ],
    }),
  ],
  [
    [pod('ravenclaw', 0), pod('gryffindor', 0), 5353, 'UDP', true],
    [pod('ravenclaw', 0), pod('gryffindor', 0), 53, 'UDP', false],
    [pod('ravenclaw', 0), pod('gryffindor', 0), 8080, 'TCP', true],
    [pod('ravenclaw', 0), pod('gryffindor', 0), 80, 'TCP', false],
    [pod('gryffindor', 0), pod('ravenclaw', 0), 80, 'TCP', true],
  ],
);
pokes(
  'npapi-anp-egress-networks-cidr',
  hogwarts(),
  [
    anp('egress-cidr', 20, {
      subject: { namespaces: { matchLabels: { 'conformance-house': 'gryffindor' } } },
      egress: [
        { name: 'allow-ravenclaw-block', action: 'Allow', to: [{ networks: ['10.244.4.0/24'] }] },
        { name: 'deny-all-pods', action: 'Deny', to: [{ networks: ['10.244.0.0/16'] }] },
      ],
    }),
  ],
  [
    [pod('gryffindor', 0), pod('ravenclaw', 1), 80, 'TCP', true],
    [pod('gryffindor', 0), pod('hufflepuff', 1), 80, 'TCP', false],
    [pod('gryffindor', 1), staff('professor-quirrell-0'), 53, 'UDP', false],
    [pod('slytherin', 1), pod('hufflepuff', 1), 80, 'TCP', true],
  ],
);
pokes(
  'npapi-anp-pod-subject-and-pod-peer',
  hogwarts(),
  [
    anp('pod-subject', 30, {
      subject: {
        pods: {
          namespaceSelector: { matchLabels: { 'conformance-house': 'gryffindor' } },
          podSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'harry-potter-0' } },
        },
      },
      ingress: [
        {
          name: 'deny-from-draco-1',
          action: 'Deny',
          from: [
            {
              pods: {
                namespaceSelector: { matchLabels: { 'conformance-house': 'slytherin' } },
                podSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'draco-malfoy-1' } },
              },
            },
          ],
        },
      ],
    }),
  ],
  [
    [pod('slytherin', 1), pod('gryffindor', 0), 80, 'TCP', false],
    [pod('slytherin', 0), pod('gryffindor', 0), 80, 'TCP', true],
    [pod('slytherin', 1), pod('gryffindor', 1), 80, 'TCP', true],
  ],
);

// ---------------------------------------------------------------- network-policy-api v1alpha2 (ClusterNetworkPolicy)

/**
 * The universe of network-policy-api's conformance/base/manifests.yaml today: four houses of two
 * StatefulSet pods each (labels: the house, plus what the StatefulSet controller adds), declaring
 * only `web` (80/TCP) and `dns` (53/UDP), and the host-network `centaur` pods of
 * forbidden-forrest, one on each of two Linux nodes (their address is the node's).
 */
const CNP_HOUSES = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'];
const CNP_NODES = [
  { name: 'node-1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'node-1' }, ip: '172.18.0.2' },
  { name: 'node-2', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'node-2' }, ip: '172.18.0.3' },
];
function hogwartsV1alpha2(): Case['universe'] {
  const namespaces = [...CNP_HOUSES, 'forbidden-forrest'].map((house) => ({
    name: nsH(house),
    labels: { 'conformance-house': house, 'kubernetes.io/metadata.name': nsH(house) },
  }));
  const pods: Pod[] = [];
  CNP_HOUSES.forEach((house, i) => {
    for (const n of [0, 1]) {
      const name = `${PEOPLE[house]}-${n}`;
      pods.push({
        namespace: nsH(house),
        name,
        labels: { 'conformance-house': house, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(n) },
        ip: `10.244.${i + 1}.${n + 10}`,
        containerPorts: [
          { name: 'web', port: 80, protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      });
    }
  });
  CNP_NODES.forEach((node, n) =>
    pods.push({
      namespace: nsH('forbidden-forrest'),
      name: `centaur-${n}`,
      labels: { 'conformance-house': 'forbidden-forrest', 'statefulset.kubernetes.io/pod-name': `centaur-${n}` },
      ip: node.ip,
      hostNetwork: true,
      containerPorts: [
        { name: `web-${HOST_NETWORK_PORTS[0]}`, port: HOST_NETWORK_PORTS[0], protocol: 'TCP' },
        { name: `web-${HOST_NETWORK_PORTS[1]}`, port: HOST_NETWORK_PORTS[1], protocol: 'TCP' },
        { name: `dns-${HOST_NETWORK_PORTS[2]}`, port: HOST_NETWORK_PORTS[2], protocol: 'UDP' },
        { name: `dns-${HOST_NETWORK_PORTS[4]}`, port: HOST_NETWORK_PORTS[4], protocol: 'UDP' },
      ],
    }),
  );
  return { namespaces, pods, hosts: CNP_NODES.map((n) => ({ ...n, labels: { ...n.labels } })) };
}

/** A world state a subtest changes: the objects of the test's manifest and the namespaces' labels. */
interface CnpState {
  objects: Array<Record<string, any>>;
  universe: Case['universe'];
}
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const cnpNamed = (state: CnpState, name: string) => {
  const found = state.objects.find((o) => o.kind === 'ClusterNetworkPolicy' && o.metadata.name === name);
  if (!found) throw new Error(`no ClusterNetworkPolicy ${name}`);
  return found;
};
const onlyCnp = (state: CnpState) => {
  const list = state.objects.filter((o) => o.kind === 'ClusterNetworkPolicy');
  if (list.length !== 1) throw new Error('rule swaps expect one ClusterNetworkPolicy');
  return list[0];
};
const setNamespaceLabels = (state: CnpState, namespace: string, labels: Labels) => {
  const ns = state.universe.namespaces.find((n) => n.name === namespace)!;
  // SetLabels replaces them all; the API server puts kubernetes.io/metadata.name back.
  ns.labels = { ...labels, 'kubernetes.io/metadata.name': namespace };
};
const podIp = (state: CnpState, pod: string) => state.universe.pods.find((p) => key(p) === pod)!.ip;

/** The changes the Go source makes beyond rule swaps, by test name, subtest index and phase index. */
const MANUAL: Record<string, (state: CnpState) => void> = {
  'CNPAdminTierEgressNamedPort#0#0': (s) => void (cnpNamed(s, 'egress-tcp').spec.egress[5].protocols = [{ destinationNamedPort: 'web' }]),
  'CNPAdminTierIngressNamedPort#0#0': (s) =>
    void (cnpNamed(s, 'ingress-udp').spec.ingress[5].protocols = [{ destinationNamedPort: 'dns' }]),
  'CNPBaselineTierEgressNamedPort#0#0': (s) => void (cnpNamed(s, 'default').spec.egress[3].protocols = [{ destinationNamedPort: 'dns' }]),
  'CNPBaselineTierIngressNamedPort#0#0': (s) => void (cnpNamed(s, 'default').spec.ingress[3].protocols = [{ destinationNamedPort: 'web' }]),
  'CNPAdminTierEgressInlineCIDRPeers#0#1': (s) =>
    setNamespaceLabels(s, nsH('slytherin'), { 'conformance-house': 'denied-namespace-label' }),
  'CNPAdminTierEgressInlineCIDRPeers#0#2': (s) => setNamespaceLabels(s, nsH('slytherin'), { 'conformance-house': 'slytherin' }),
  'CNPBaselineTierEgressInlineCIDRPeers#0#1': (s) =>
    setNamespaceLabels(s, nsH('slytherin'), { 'conformance-house': 'denied-namespace-label' }),
  'CNPBaselineTierEgressInlineCIDRPeers#0#2': (s) => setNamespaceLabels(s, nsH('slytherin'), { 'conformance-house': 'slytherin' }),
  'CNPAdminTierEgressInlineCIDRPeers#1#0': (s) => insertPodIpRule(s, 'inline-cidr-as-peers-example'),
  'CNPBaselineTierEgressInlineCIDRPeers#1#0': (s) => insertPodIpRule(s, 'default'),
  'CNPAdminTierIntegration#2#0': (s) => void (cnpNamed(s, 'pass-example').spec.ingress[0].action = 'Pass'),
  'CNPAdminTierIntegration#3#0': (s) => void (cnpNamed(s, 'pass-example').spec.egress[0].action = 'Pass'),
  'CNPAdminTierIntegration#4#0': (s) => void (s.objects = s.objects.filter((o) => o.kind !== 'NetworkPolicy')),
  'CNPAdminTierPriorityField#2#0': (s) => void (cnpNamed(s, 'old-priority-60-new-priority-40-example').spec.priority = 40),
};
function insertPodIpRule(state: CnpState, name: string): void {
  const policy = cnpNamed(state, name);
  const networks = [pod('ravenclaw', 0), pod('hufflepuff', 0)].map((p) => `${podIp(state, p)}/32`);
  policy.spec.egress = [{ name: 'allow-egress-to-specific-podIPs', action: 'Accept', to: [{ networks }] }, ...policy.spec.egress];
}

const kebab = (text: string) =>
  text
    .replace(/^CNP/, 'cnp-')
    .replace(/([a-z])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();

for (const upstream of TESTS) {
  const state: CnpState = { objects: clone(MANIFESTS[upstream.manifest]), universe: hogwartsV1alpha2() };
  upstream.subtests.forEach((subtest, s) => {
    subtest.phases.forEach((phase, p) => {
      for (const op of phase.ops) {
        if (op[0] === 'swap') {
          const [, direction, a, b] = op;
          const rules = onlyCnp(state).spec[direction];
          [rules[a], rules[b]] = [rules[b], rules[a]];
        } else {
          const change = MANUAL[`${upstream.name}#${s}#${p}`];
          if (!change) throw new Error(`${upstream.name} subtest ${s} phase ${p}: no transcription of ${op[1]}`);
          change(state);
        }
      }
      const name = `npapi-v1alpha2-${kebab(upstream.name).replace(/^cnp-/, '')}-${s + 1}${subtest.phases.length > 1 ? `-${p + 1}` : ''}`;
      const universe = clone(state.universe);
      add(name, `${NPAPI} ${upstream.file}: ${subtest.title}`, universe, clone(state.objects), (u) =>
        phase.pokes.map(([from, to, port, protocol, allowed]: UpstreamPoke) => ({
          port,
          protocol,
          reach: R(u, !allowed).expect(from, to, allowed),
          pairs: [[from, to]],
        })),
      );
    });
  });
}

// ---------------------------------------------------------------- write

export function buildCases(): Array<{ testCase: Case; expected: Array<Probe & { allowed: boolean }> }> {
  return cases.map(({ c, checks }) => {
    const expected: Array<Probe & { allowed: boolean }> = [];
    let index = 0;
    for (const check of checks) {
      const pairs =
        check.pairs ??
        c.universe.pods.flatMap((a) => c.universe.pods.filter((b) => b !== a).map((b) => [key(a), key(b)] as [string, string]));
      for (const [from, to] of pairs) {
        const probe = c.probes[index++];
        if (probe.from !== from || probe.to !== to) throw new Error(`probe order mismatch in ${c.name}`);
        expected.push({ ...probe, allowed: check.reach.get(from, to) });
      }
    }
    return { testCase: c, expected };
  });
}

if (require.main === module) {
  const dir = path.join(__dirname, '..', '..', '..', 'test', 'conformance', 'cases');
  fs.mkdirSync(dir, { recursive: true });
  for (const { testCase, expected } of buildCases()) {
    fs.writeFileSync(path.join(dir, `${testCase.name}.json`), JSON.stringify(testCase, null, 1) + '\n');
    fs.writeFileSync(path.join(dir, `${testCase.name}.expected.json`), JSON.stringify(expected) + '\n');
  }
  process.stdout.write(`wrote ${cases.length} cases to ${dir}\n`);
}
