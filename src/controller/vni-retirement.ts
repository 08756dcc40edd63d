/**
 * The store side of VNI retirement (src/core/ipam/vni-retirement.ts): hooks the object service calls
 * inside the txn of a tenant deletion, a Host status write and a Host deletion. Every read joins the
 * txn as a compare, so two controllers confirming for two hosts at once cannot both miss the last one.
 */
import type { Store } from '../store/store';
import { HOST_SET_KEY, objectPrefix, parseObjectKey, vniKey, vniPendingKey, vniPendingPrefix } from '../store/keys';
import type { TenetObject } from '../core/model/object';
import {
  confirmHost,
  decodeVniValue,
  encodeRetired,
  reportConfirms,
  retireVni,
  type CarriedReport,
  type RetiredVni,
} from '../core/ipam/vni-retirement';
import type { TxnBuilder } from './txn-builder';

/**
 * Tenant deletion: the VNI key becomes a retirement record naming every Host that exists now, plus one
 * marker per host. The host-set key is compared and bumped: a Host created or deleted meanwhile makes
 * this attempt retry, and a Host deletion racing this one retries after it and then sees the marker.
 * (Not the Hosts' own modRevisions: heartbeats change those every few seconds.)
 */
export async function retireTenantVni(store: Store, b: TxnBuilder, tenant: TenetObject): Promise<void> {
  const vni = (tenant.status as { vni?: number } | undefined)?.vni;
  if (vni === undefined) return;
  const key = vniKey(vni);
  const current = await store.get(key);
  if (!current) return;
  b.compare(key, current.modRevision);
  await touchHostSet(store, b);
  const hosts: string[] = [];
  for (const kv of (await store.range(objectPrefix('Host'))).items) {
    const ref = parseObjectKey(kv.key);
    if (ref) hosts.push(ref.name);
  }
  const record = retireVni(vni, tenant.metadata.name, tenant.metadata.uid, hosts, new Date().toISOString());
  if (!record) {
    b.delete(key);
    return;
  }
  b.put(key, encodeRetired(record));
  for (const host of record.hosts) b.put(vniPendingKey(host, vni), String(vni));
}

/** Host status write: every retired VNI this host's report confirms is struck off (and freed when it was the last host). */
export async function confirmCarriedVnis(store: Store, b: TxnBuilder, host: string, report: CarriedReport | undefined): Promise<void> {
  await settle(store, b, host, (record, retiredAt) => reportConfirms(record, report, retiredAt));
}

/** Host deletion: the host can no longer confirm anything, and it no longer exists to carry a VNI. */
export async function forgetDeletedHost(store: Store, b: TxnBuilder, host: string): Promise<void> {
  await touchHostSet(store, b);
  await settle(store, b, host, () => true);
}

/** Host creation (and the two writes above): the set of hosts a retirement must name changes. */
export async function touchHostSet(store: Store, b: TxnBuilder): Promise<void> {
  const kv = await store.get(HOST_SET_KEY);
  b.compare(HOST_SET_KEY, kv?.modRevision ?? 0);
  b.put(HOST_SET_KEY, String(Date.now()));
}

async function settle(
  store: Store,
  b: TxnBuilder,
  host: string,
  confirms: (record: RetiredVni, retiredAt: number) => boolean,
): Promise<void> {
  const pending = await store.range(vniPendingPrefix(host));
  for (const marker of pending.items) {
    const vni = Number(marker.value);
    const key = vniKey(vni);
    const current = Number.isInteger(vni) ? await store.get(key) : undefined;
    const record = current ? asRetired(current.value) : undefined;
    if (!current || !record || !record.hosts.includes(host)) {
      // A marker whose record is gone or no longer names this host: left by an older write; drop it.
      b.compare(marker.key, marker.modRevision);
      b.delete(marker.key);
      continue;
    }
    if (!confirms(record, marker.modRevision)) continue;
    b.compare(marker.key, marker.modRevision);
    b.compare(key, current.modRevision);
    b.delete(marker.key);
    const next = confirmHost(record, host);
    if (next === 'released') b.delete(key);
    else b.put(key, encodeRetired(next));
  }
}

function asRetired(value: string): RetiredVni | undefined {
  try {
    const holder = decodeVniValue(value);
    return 'retired' in holder ? holder.retired : undefined;
  } catch {
    return undefined;
  }
}
