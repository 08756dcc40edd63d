/** One line about an object for lists and search: the fields a person looks for first, per kind. */
import type { TenetObject } from '../../src/core/model/object';

type Loose = Record<string, unknown>;

function selectorText(selector: unknown): string {
  const s = (selector ?? {}) as {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  };
  const parts = [
    ...Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`),
  ];
  return parts.length > 0 ? parts.join(',') : '<all>';
}

export function summary(object: TenetObject): string {
  const spec = (object.spec ?? {}) as Loose;
  const status = (object.status ?? {}) as Loose;
  switch (object.kind) {
    case 'Tenant':
      return status.vni !== undefined ? `vni ${String(status.vni)}` : '';
    case 'Network':
      return ((spec.subnets as Array<{ cidr: string }> | undefined) ?? []).map((s) => s.cidr).join(', ');
    case 'Endpoint':
      return [
        `network ${String(spec.network ?? '')}`,
        spec.host ? `on ${String(spec.host)}` : 'unplaced',
        ...[status.ipv4, status.ipv6].filter((x): x is string => typeof x === 'string'),
        typeof status.phase === 'string' ? status.phase : '',
      ]
        .filter(Boolean)
        .join(' · ');
    case 'Group':
      return `selects ${selectorText(spec.selector)}${status.members !== undefined ? ` · ${String(status.members)} members` : ''}`;
    case 'Policy':
    case 'GlobalPolicy': {
      const tier = object.kind === 'Policy' ? 'tenant' : String(spec.tier ?? '');
      const ingress = (spec.ingress as unknown[] | undefined)?.length ?? 0;
      const egress = (spec.egress as unknown[] | undefined)?.length ?? 0;
      return `${tier} tier · ${ingress} ingress, ${egress} egress rules`;
    }
    case 'Service':
      return [
        ((spec.ports as Array<{ protocol?: string; port: number }> | undefined) ?? [])
          .map((p) => `${p.protocol ?? 'TCP'}/${p.port}`)
          .join(','),
        ((status.virtualIPs as string[] | undefined) ?? []).join(', '),
      ]
        .filter(Boolean)
        .join(' · ');
    case 'Host':
      return [String(spec.underlayIP ?? ''), status.ready === true ? 'ready' : 'not ready'].join(' · ');
    default:
      return '';
  }
}
