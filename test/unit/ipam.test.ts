import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubnetPool } from '../../src/core/ipam/subnet-pool';
import { NetworkPool } from '../../src/core/ipam/network-pool';
import { RangeAllocator } from '../../src/core/ipam/range-allocator';
import { VniPool, VNI_FIRST } from '../../src/core/ipam/vni-pool';
import { generateMac, isMulticastMac } from '../../src/core/ipam/mac';

function drain(pool: SubnetPool): string[] {
  const out: string[] = [];
  for (let ip = pool.allocate(); ip !== undefined; ip = pool.allocate()) out.push(ip);
  return out;
}

test('IPv4 /29: gateway, network and broadcast are never handed out; exhaustion is clear', () => {
  const pool = new SubnetPool({ cidr: '10.0.0.0/29' });
  assert.equal(pool.gatewayText(), '10.0.0.1');
  assert.equal(pool.capacity, 5n);
  assert.deepEqual(drain(pool), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  assert.equal(pool.allocate(), undefined);
  assert.equal(pool.usedCount, 5);
  assert.equal(pool.refusal('10.0.0.0'), 'network');
  assert.equal(pool.refusal('10.0.0.7'), 'broadcast');
  assert.equal(pool.refusal('10.0.0.1'), 'gateway');
  assert.equal(pool.refusal('10.0.0.3'), 'taken');
  assert.equal(pool.refusal('10.0.1.3'), 'outside');
});

test('explicit gateway and reserved ranges are skipped; release makes an address available again', () => {
  const pool = new SubnetPool({
    cidr: '192.168.5.0/28',
    gateway: '192.168.5.14',
    reserved: [
      { start: '192.168.5.1', end: '192.168.5.4' },
      { start: '192.168.5.8', end: '192.168.5.9' },
    ],
  });
  const got = drain(pool);
  assert.deepEqual(got, ['192.168.5.5', '192.168.5.6', '192.168.5.7', '192.168.5.10', '192.168.5.11', '192.168.5.12', '192.168.5.13']);
  assert.equal(pool.refusal('192.168.5.2'), 'reserved');
  assert.equal(pool.refusal('192.168.5.14'), 'gateway');
  pool.release('192.168.5.11');
  assert.equal(pool.refusal('192.168.5.11'), undefined);
  assert.equal(pool.allocate(), '192.168.5.11');
  assert.equal(pool.allocate(), undefined);
});

test('IPv6 subnets allocate sequentially after the gateway, and a requested address can be marked used', () => {
  const pool = new SubnetPool({ cidr: 'fd00:10::/64' });
  assert.equal(pool.gatewayText(), 'fd00:10::1');
  assert.equal(pool.refusal('fd00:10::'), 'network');
  pool.markUsed('fd00:10::3');
  assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], ['fd00:10::2', 'fd00:10::4', 'fd00:10::5']);
  assert.equal(pool.refusal('fd00:10::ffff:ffff:ffff:ffff'), undefined);
  assert.equal(pool.capacity, (1n << 64n) - 2n);
});

test('a network pool finds the subnet of each family', () => {
  const pool = new NetworkPool({ subnets: [{ cidr: '10.9.0.0/24' }, { cidr: 'fd00:9::/120' }] });
  assert.equal(pool.subnetOfFamily(4)?.text, '10.9.0.0/24');
  assert.equal(pool.subnetOfFamily(6)?.text, 'fd00:9::/120');
  assert.equal(pool.subnetFor('fd00:9::20')?.family, 6);
  assert.equal(pool.subnetFor('10.10.0.1'), undefined);
});

/**
 * 10,000 seeded random operations on one pool, releasing less often than allocating so the pool
 * fills up and then keeps bouncing off exhaustion: every allocation is checked against what is held
 * and what may never be handed out, and exhaustion must happen (and only when everything is held).
 */
function randomRun(
  pool: SubnetPool,
  forbidden: (ip: string) => string | undefined,
  seed: number,
): { exhausted: number; allocated: number } {
  const held = new Set<string>();
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let exhausted = 0;
  let allocated = 0;
  for (let op = 0; op < 10_000; op++) {
    if (held.size > 0 && random() < 0.4) {
      const list = [...held];
      const ip = list[Math.floor(random() * list.length)];
      held.delete(ip);
      pool.release(ip);
    } else {
      const ip = pool.allocate();
      if (ip === undefined) {
        exhausted++;
        assert.equal(BigInt(held.size), pool.capacity, 'exhausted only when every address is held');
        continue;
      }
      allocated++;
      assert.ok(!held.has(ip), `duplicate ${ip}`);
      assert.equal(pool.refusal(ip), 'taken', `${ip} is held by the pool once handed out`);
      assert.equal(forbidden(ip), undefined, `forbidden address ${ip}`);
      held.add(ip);
    }
    assert.equal(pool.usedCount, held.size);
  }
  assert.ok(held.size > 0);
  return { exhausted, allocated };
}

test('10,000 random allocate/release operations never hand out a duplicate or a forbidden address (IPv4)', () => {
  const pool = new SubnetPool({ cidr: '10.50.0.0/22', reserved: [{ start: '10.50.1.0', end: '10.50.1.255' }] });
  assert.equal(pool.capacity, 1024n - 3n - 256n);
  const { exhausted, allocated } = randomRun(
    pool,
    (ip) =>
      ip.startsWith('10.50.1.')
        ? 'reserved'
        : ['10.50.0.0', '10.50.0.1', '10.50.3.255'].includes(ip)
          ? 'network/gateway/broadcast'
          : !/^10\.50\.[0-3]\.\d+$/.test(ip)
            ? 'outside'
            : undefined,
    12345,
  );
  assert.ok(exhausted > 0, 'the run reached exhaustion');
  assert.ok(allocated > Number(pool.capacity), 'released addresses were handed out again');
});

test('10,000 random allocate/release operations never hand out a duplicate or a forbidden address (IPv6)', () => {
  const pool = new SubnetPool({
    cidr: 'fd00:50::/118',
    gateway: 'fd00:50::3ff',
    reserved: [{ start: 'fd00:50::100', end: 'fd00:50::1ff' }],
  });
  assert.equal(pool.capacity, 1024n - 2n - 256n);
  const { exhausted, allocated } = randomRun(
    pool,
    (ip) => {
      const m = /^fd00:50::([0-9a-f]{1,3})$/.exec(ip);
      if (!m) return 'outside or not canonical';
      const n = parseInt(m[1], 16);
      if (n === 0 || n === 0x3ff) return 'network/gateway';
      return n >= 0x100 && n <= 0x1ff ? 'reserved' : undefined;
    },
    777,
  );
  assert.ok(exhausted > 0, 'the run reached exhaustion');
  assert.ok(allocated > Number(pool.capacity), 'released addresses were handed out again');
});

test('a sweep finds room the free list does not know about (addresses freed elsewhere)', () => {
  const allocator = new RangeAllocator(1n, 4n);
  assert.deepEqual([allocator.allocate(), allocator.allocate(), allocator.allocate(), allocator.allocate()], [1n, 2n, 3n, 4n]);
  assert.equal(allocator.allocate(), undefined);
  allocator.release(2n);
  assert.equal(allocator.allocate(), 2n);
  // Marking used and then free by another path keeps the count honest.
  allocator.markUsed(2n);
  assert.equal(allocator.usedCount, 4);
});

test('with a tiny free list, released values beyond it are found again by a sweep', () => {
  const allocator = new RangeAllocator(10n, 19n, [[15n, 15n]], { freeListCap: 1 });
  const all: bigint[] = [];
  for (let v = allocator.allocate(); v !== undefined; v = allocator.allocate()) all.push(v);
  assert.equal(all.length, 9);
  for (const v of [11n, 13n, 17n, 19n]) allocator.release(v);
  assert.equal(allocator.usedCount, 5);
  const again = [allocator.allocate(), allocator.allocate(), allocator.allocate(), allocator.allocate()];
  assert.deepEqual([...again].sort(), [11n, 13n, 17n, 19n]);
  assert.equal(allocator.allocate(), undefined);
  assert.equal(allocator.usedCount, 9);
});

test('VNIs start at 4096, are unique and come back on release', () => {
  const pool = new VniPool();
  const a = pool.allocate()!;
  const b = pool.allocate()!;
  assert.equal(a, VNI_FIRST);
  assert.equal(b, VNI_FIRST + 1);
  pool.release(a);
  pool.markUsed(VNI_FIRST + 2);
  assert.equal(pool.allocate(), VNI_FIRST + 3);
  assert.equal(pool.usedCount, 3);
  const small = new VniPool(10, 11);
  assert.equal(small.allocate(), 10);
  assert.equal(small.allocate(), 11);
  assert.equal(small.allocate(), undefined);
  small.release(10);
  assert.equal(small.allocate(), 10);
});

test('generated MACs are stable, locally administered and unicast', () => {
  const mac = generateMac('acme/web/ep1');
  assert.equal(generateMac('acme/web/ep1'), mac);
  assert.notEqual(generateMac('acme/web/ep1', 1), mac);
  assert.notEqual(generateMac('acme/web/ep2'), mac);
  assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const first = parseInt(mac.slice(0, 2), 16);
  assert.equal(first & 0x02, 0x02);
  assert.equal(isMulticastMac(mac), false);
  assert.equal(isMulticastMac('01:00:5e:00:00:01'), true);
});
