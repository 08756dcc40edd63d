/**
 * The ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) conformance suite of
 * kubernetes-sigs/network-policy-api (commit 0eec1b0), transcribed as data: each test's manifest
 * (conformance/base/..., host-network ports filled in), and per subtest its phases in order — the
 * changes the subtest makes (`ops`: rule swaps read off the Go source; `manual` ones are written
 * out in build-cases.ts) and then the PokeServer assertions: [client, server, port, protocol,
 * allowed]. Subtests of one test run in order against the same, cumulatively changed, objects.
 */

export const HOST_NETWORK_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351, 34352];
export type Poke = [string, string, number, string, boolean];
export type Op = ['swap', 'ingress' | 'egress', number, number] | ['manual', string];
export interface UpstreamTest {
  name: string;
  file: string;
  manifest: string;
  subtests: Array<{ title: string; phases: Array<{ ops: Op[]; pokes: Poke[] }> }>;
}
export const MANIFESTS: Record<string, Array<Record<string, any>>> = {
  'base/admin_tier/standard-egress-tcp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'egress-tcp',
      },
      spec: {
        tier: 'Admin',
        priority: 6,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-ravenclaw-everything',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-80',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-slytherin-at-port-80',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-port-8080',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 8080,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/experimental-egress-selector-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'node-and-cidr-as-peers-example',
      },
      spec: {
        tier: 'Admin',
        priority: 75,
        subject: {
          pods: {
            namespaceSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
            podSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
          },
        },
        egress: [
          {
            name: 'allow-egress-to-34345-on-nodes',
            action: 'Accept',
            to: [
              {
                nodes: {
                  matchLabels: {
                    'kubernetes.io/os': 'linux',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 34345,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-egress-to-34347-on-nodes',
            action: 'Pass',
            to: [
              {
                nodes: {
                  matchLabels: {
                    'kubernetes.io/os': 'linux',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 34347,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-egress-to-slytherin-and-nodes-and-internet',
            action: 'Deny',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
              {
                nodes: {
                  matchLabels: {
                    'kubernetes.io/os': 'linux',
                  },
                },
              },
              {
                networks: ['0.0.0.0/0', '::/0'],
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-ingress-udp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'ingress-udp',
      },
      spec: {
        tier: 'Admin',
        priority: 4,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-ravenclaw-everything',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-5353',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-slytherin-at-port-5353',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-gryffindor-at-port-53',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-gryffindor-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-egress-inline-cidr-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'inline-cidr-as-peers-example',
      },
      spec: {
        tier: 'Admin',
        priority: 85,
        subject: {
          pods: {
            namespaceSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
            podSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
          },
        },
        egress: [
          {
            name: 'allow-egress-to-slytherin',
            action: 'Accept',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
          {
            name: 'deny-egress-to-internet',
            action: 'Deny',
            to: [
              {
                networks: ['0.0.0.0/0', '::/0'],
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-egress-sctp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'egress-sctp',
      },
      spec: {
        tier: 'Admin',
        priority: 8,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-gryffindor-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-gryffindor-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-gryffindor-everything',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-9003',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-slytherin-at-port-9003',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-port-9003',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-egress-udp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'egress-udp',
      },
      spec: {
        tier: 'Admin',
        priority: 7,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-ravenclaw-everything',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-5353',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-slytherin-at-port-5353',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-gryffindor-at-port-53',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-gryffindor-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-gress-rules-combined.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'gress-rules',
      },
      spec: {
        tier: 'Admin',
        priority: 15,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-ravenclaw-everything',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-ports-80-53-9003',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-to-slytherin-at-port-80-53-9003',
            action: 'Pass',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-ports-8080-5353-9003',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 8080,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-ravenclaw-everything',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-80-53-9003',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-slytherin-at-port-80-53-9003',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-80-5353-9003',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-ingress-sctp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'ingress-sctp',
      },
      spec: {
        tier: 'Admin',
        priority: 5,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-gryffindor-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-gryffindor-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-gryffindor-everything',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-9003',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-slytherin-at-port-9003',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-9003',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-ingress-tcp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'ingress-tcp',
      },
      spec: {
        tier: 'Admin',
        priority: 3,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-ravenclaw-everything',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-80',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'pass-from-slytherin-at-port-80',
            action: 'Pass',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-80',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/api_integration/standard-anp-np-banp.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'pass-example',
      },
      spec: {
        tier: 'Admin',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'conformance-house': 'gryffindor',
            },
          },
        },
        ingress: [
          {
            name: 'deny-all-ingress-from-slytherin',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            name: 'deny-all-egress-to-slytherin',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'allow-gress-from-to-slytherin-to-gryffindor',
        namespace: 'network-policy-conformance-gryffindor',
      },
      spec: {
        podSelector: null,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'conformance-house': 'gryffindor',
            },
          },
        },
        ingress: [
          {
            name: 'deny-all-ingress-from-slytherin',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            name: 'deny-all-egress-to-slytherin',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'conformance-house': 'slytherin',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/admin_tier/standard-priority-field.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'priority-50-example',
      },
      spec: {
        tier: 'Admin',
        priority: 50,
        subject: {
          pods: {
            namespaceSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
            podSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
          },
        },
        ingress: [
          {
            name: 'deny-all-ingress-from-slytherin',
            action: 'Deny',
            from: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            name: 'deny-all-egress-to-slytherin',
            action: 'Deny',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'old-priority-60-new-priority-40-example',
      },
      spec: {
        tier: 'Admin',
        priority: 60,
        subject: {
          pods: {
            namespaceSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
            podSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
          },
        },
        ingress: [
          {
            name: 'pass-all-ingress-from-slytherin',
            action: 'Pass',
            from: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            name: 'pass-all-egress-to-slytherin',
            action: 'Pass',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          pods: {
            namespaceSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
            podSelector: {
              matchLabels: {
                'conformance-house': 'gryffindor',
              },
            },
          },
        },
        ingress: [
          {
            name: 'allow-all-ingress-from-slytherin',
            action: 'Accept',
            from: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
        egress: [
          {
            name: 'allow-all-egress-to-slytherin',
            action: 'Accept',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-egress-udp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-5353',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-gryffindor-at-port-53',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-gryffindor-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/experimental-egress-selector-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-egress-to-34345-on-nodes',
            action: 'Accept',
            to: [
              {
                nodes: {
                  matchLabels: {
                    'kubernetes.io/os': 'linux',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    range: {
                      start: 34345,
                      end: 34346,
                    },
                  },
                },
              },
            ],
          },
          {
            name: 'deny-egress-to-nodes-and-internet',
            action: 'Deny',
            to: [
              {
                nodes: {
                  matchLabels: {
                    'kubernetes.io/os': 'linux',
                  },
                },
              },
              {
                networks: ['0.0.0.0/0', '::/0'],
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-ingress-tcp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-80',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-80',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-egress-inline-cidr-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-egress-to-slytherin',
            action: 'Accept',
            to: [
              {
                pods: {
                  namespaceSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                  podSelector: {
                    matchLabels: {
                      'conformance-house': 'slytherin',
                    },
                  },
                },
              },
            ],
          },
          {
            name: 'deny-egress-to-internet',
            action: 'Deny',
            to: [
              {
                networks: ['0.0.0.0/0', '::/0'],
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-egress-sctp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-gryffindor-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-gryffindor-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-9003',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-port-9003',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-egress-tcp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-port-80',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-port-8080',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 8080,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-gress-rules-combined.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
            },
          },
        },
        egress: [
          {
            name: 'allow-to-ravenclaw-everything',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-ravenclaw-everything',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-slytherin-at-ports-80-53-9003',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-to-hufflepuff-at-ports-8080-5353',
            action: 'Accept',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 8080,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-to-hufflepuff-everything-else',
            action: 'Deny',
            to: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-80-53-9003',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-80-5353-9003',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                tcp: {
                  destinationPort: {
                    number: 80,
                  },
                },
              },
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-ingress-sctp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-gryffindor-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-gryffindor-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-9003',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-hufflepuff-at-port-9003',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
            protocols: [
              {
                sctp: {
                  destinationPort: {
                    number: 9003,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-hufflepuff-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
  'base/baseline_tier/standard-ingress-udp-rules.yaml': [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: {
        name: 'default',
      },
      spec: {
        tier: 'Baseline',
        priority: 10,
        subject: {
          namespaces: {
            matchLabels: {
              'kubernetes.io/metadata.name': 'network-policy-conformance-hufflepuff',
            },
          },
        },
        ingress: [
          {
            name: 'allow-from-ravenclaw-everything',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-ravenclaw-everything',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-ravenclaw',
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-slytherin-at-port-5353',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-slytherin',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 5353,
                  },
                },
              },
            ],
          },
          {
            name: 'allow-from-gryffindor-at-port-53',
            action: 'Accept',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
            protocols: [
              {
                udp: {
                  destinationPort: {
                    number: 53,
                  },
                },
              },
            ],
          },
          {
            name: 'deny-from-gryffindor-everything-else',
            action: 'Deny',
            from: [
              {
                namespaces: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor',
                  },
                },
              },
            ],
          },
        ],
      },
    },
  ],
};
export const TESTS: UpstreamTest[] = [
  {
    name: 'CNPAdminTierEgressNamedPort',
    file: 'conformance/tests/admin-network-policy-experimental-egress-rules.go',
    manifest: 'base/admin_tier/standard-egress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for named port",
        phases: [
          {
            ops: [['manual', 'Protocols']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierEgressNodePeers',
    file: 'conformance/tests/admin-network-policy-experimental-egress-rules.go',
    manifest: 'base/admin_tier/experimental-egress-selector-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' rule policy for egress-node-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34345,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' rule policy for egress-node-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34347,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' rule policy for egress-node-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34346,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34349,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34351,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierIngressNamedPort',
    file: 'conformance/tests/admin-network-policy-experimental-ingress-rules.go',
    manifest: 'base/admin_tier/standard-ingress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for named port",
        phases: [
          {
            ops: [['manual', 'Protocols']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierEgressInlineCIDRPeers',
    file: 'conformance/tests/admin-network-policy-standard-egress-inline-cidr-rules.go',
    manifest: 'base/admin_tier/standard-egress-inline-cidr-rules.yaml',
    subtests: [
      {
        title: "Should support a 'deny-egress' rule policy for egress-cidr-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
          {
            ops: [['manual', 'PatchNamespace']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
          {
            ops: [['manual', 'PatchNamespace']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' rule policy for egress-cidr-peer",
        phases: [
          {
            ops: [['manual', 'append(newRule']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierEgressSCTP',
    file: 'conformance/tests/admin-network-policy-standard-egress-sctp-rules.go',
    manifest: 'base/admin_tier/standard-egress-sctp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-egress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'egress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierEgressTCP',
    file: 'conformance/tests/admin-network-policy-standard-egress-tcp-rules.go',
    manifest: 'base/admin_tier/standard-egress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-egress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'egress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierEgressUDP',
    file: 'conformance/tests/admin-network-policy-standard-egress-udp-rules.go',
    manifest: 'base/admin_tier/standard-egress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                5353,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-egress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'egress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierGress',
    file: 'conformance/tests/admin-network-policy-standard-gress-rules.go',
    manifest: 'base/admin_tier/standard-gress-rules-combined.yaml',
    subtests: [
      {
        title: "Should support an 'allow-gress' policy across different protocols",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-gress' policy across different protocols at the specified ports",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9005,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-gress' policy across different protocols",
        phases: [
          {
            ops: [
              ['swap', 'egress', 0, 1],
              ['swap', 'ingress', 0, 1],
            ],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-gress' policy across different protocols at the specified ports",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-gress' policy across different protocols",
        phases: [
          {
            ops: [
              ['swap', 'egress', 0, 2],
              ['swap', 'ingress', 0, 2],
            ],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-gress' policy across different protocols at the specified ports",
        phases: [
          {
            ops: [
              ['swap', 'egress', 3, 4],
              ['swap', 'ingress', 3, 4],
            ],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierIngressSCTP',
    file: 'conformance/tests/admin-network-policy-standard-ingress-sctp-rules.go',
    manifest: 'base/admin_tier/standard-ingress-sctp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-ingress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-ingress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'ingress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierIngressTCP',
    file: 'conformance/tests/admin-network-policy-standard-ingress-tcp-rules.go',
    manifest: 'base/admin_tier/standard-ingress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-ingress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-ingress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'ingress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierIngressUDP',
    file: 'conformance/tests/admin-network-policy-standard-ingress-udp-rules.go',
    manifest: 'base/admin_tier/standard-ingress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                5353,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                5353,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'pass-ingress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 2]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-ingress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [['swap', 'ingress', 3, 4]],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierIntegration',
    file: 'conformance/tests/admin-network-policy-standard-integration.go',
    manifest: 'base/api_integration/standard-anp-np-banp.yaml',
    subtests: [
      {
        title: 'Should Deny traffic from slytherin to gryffindor respecting admin CNP',
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: 'Should Deny traffic to slytherin from gryffindor respecting admin CNP',
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy",
        phases: [
          {
            ops: [['manual', 'Action']],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' policy for admin CNP and respect the match for network policy",
        phases: [
          {
            ops: [['manual', 'Action']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy",
        phases: [
          {
            ops: [['manual', 's.Client.Delete']],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPAdminTierPriorityField',
    file: 'conformance/tests/admin-network-policy-standard-priority.go',
    manifest: 'base/admin_tier/standard-priority-field.yaml',
    subtests: [
      {
        title: 'Should Deny traffic from slytherin to gryffindor respecting admin CNP',
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: 'Should Deny traffic to slytherin from gryffindor respecting admin CNP',
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: 'Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP',
        phases: [
          {
            ops: [['manual', 'Spec.Priority']],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressNamedPort',
    file: 'conformance/tests/baseline-admin-network-policy-experimental-egress-rules.go',
    manifest: 'base/baseline_tier/standard-egress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for named port",
        phases: [
          {
            ops: [['manual', 'Protocols']],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressNodePeers',
    file: 'conformance/tests/baseline-admin-network-policy-experimental-egress-rules.go',
    manifest: 'base/baseline_tier/experimental-egress-selector-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' rule policy for egress-node-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34345,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34346,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' rule policy for egress-node-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34349,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-forbidden-forrest/centaur-1',
                34351,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierIngressNamedPort',
    file: 'conformance/tests/baseline-admin-network-policy-experimental-ingress-rules.go',
    manifest: 'base/baseline_tier/standard-ingress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for named port",
        phases: [
          {
            ops: [['manual', 'Protocols']],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressInlineCIDRPeers',
    file: 'conformance/tests/baseline-admin-network-policy-standard-egress-inline-cidr-rules.go',
    manifest: 'base/baseline_tier/standard-egress-inline-cidr-rules.yaml',
    subtests: [
      {
        title: "Should support a 'deny-egress' rule policy for egress-cidr-peer",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
          {
            ops: [['manual', 'PatchNamespace']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
          {
            ops: [['manual', 'PatchNamespace']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' rule policy for egress-cidr-peer",
        phases: [
          {
            ops: [['manual', 'append(newRule']],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressSCTP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-egress-sctp-rules.go',
    manifest: 'base/baseline_tier/standard-egress-sctp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressTCP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-egress-tcp-rules.go',
    manifest: 'base/baseline_tier/standard-egress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierEgressUDP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-egress-udp-rules.go',
    manifest: 'base/baseline_tier/standard-egress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-egress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                5353,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-egress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-egress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'egress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-egress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierGress',
    file: 'conformance/tests/baseline-admin-network-policy-standard-gress-rules.go',
    manifest: 'base/baseline_tier/standard-gress-rules-combined.yaml',
    subtests: [
      {
        title: "Should support an 'allow-gress' policy across different protocols",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-gress' policy across different protocols at the specified ports",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                9005,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-gress' policy across different protocols",
        phases: [
          {
            ops: [
              ['swap', 'egress', 0, 1],
              ['swap', 'ingress', 0, 1],
            ],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                9003,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-gress' policy across different protocols at the specified ports",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-slytherin/draco-malfoy-0',
                9005,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                5353,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierIngressSCTP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-ingress-sctp-rules.go',
    manifest: 'base/baseline_tier/standard-ingress-sctp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for SCTP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                9005,
                'SCTP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for SCTP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9003,
                'SCTP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                9005,
                'SCTP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierIngressTCP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-ingress-tcp-rules.go',
    manifest: 'base/baseline_tier/standard-ingress-tcp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                true,
              ],
              [
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-gryffindor/harry-potter-1',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-gryffindor/harry-potter-1',
                8080,
                'TCP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for TCP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-gryffindor/harry-potter-0',
                80,
                'TCP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-gryffindor/harry-potter-0',
                8080,
                'TCP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'CNPBaselineTierIngressUDP',
    file: 'conformance/tests/baseline-admin-network-policy-standard-ingress-udp-rules.go',
    manifest: 'base/baseline_tier/standard-ingress-udp-rules.yaml',
    subtests: [
      {
        title: "Should support an 'allow-ingress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                5353,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'allow-ingress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-gryffindor/harry-potter-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                true,
              ],
              [
                'network-policy-conformance-gryffindor/harry-potter-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support an 'deny-ingress' policy for UDP protocol; ensure rule ordering is respected",
        phases: [
          {
            ops: [['swap', 'ingress', 0, 1]],
            pokes: [
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                53,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-ravenclaw/luna-lovegood-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-1',
                5353,
                'UDP',
                false,
              ],
            ],
          },
        ],
      },
      {
        title: "Should support a 'deny-ingress' policy for UDP protocol at the specified port",
        phases: [
          {
            ops: [],
            pokes: [
              [
                'network-policy-conformance-slytherin/draco-malfoy-0',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                5353,
                'UDP',
                false,
              ],
              [
                'network-policy-conformance-slytherin/draco-malfoy-1',
                'network-policy-conformance-hufflepuff/cedric-diggory-0',
                53,
                'UDP',
                true,
              ],
            ],
          },
        ],
      },
    ],
  },
];
