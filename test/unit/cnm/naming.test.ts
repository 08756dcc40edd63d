import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bindingFromNetworkOptions,
  DriverError,
  knownPoolId,
  parsePoolId,
  pendingPoolId,
  placeholderPool,
  stagingIfName,
  tokenOfPlaceholder,
} from '../../../src/cnm/naming';
import { AddressPicker } from '../../../src/cnm/address-picker';
import { formatCidr, parseCidr } from '../../../src/core/net/ip';

const canonicalCidrText = (text: string) => formatCidr(parseCidr(text)!);

const EID = 'f9c4ea69b8e657ca9fdb22f9bdff0f62cce78f9a47cc83a1813d756bd5cb2247';

test('network options: tenant, network and label.* from -o, with clear errors', () => {
  const generic = { 'com.docker.network.generic': { tenant: 'acme', network: 'web', 'label.tier': 'web', other: 'x' } };
  assert.deepEqual(bindingFromNetworkOptions(generic), { tenant: 'acme', network: 'web', labels: { tier: 'web' } });
  assert.throws(
    () => bindingFromNetworkOptions({}),
    (e: Error) => e instanceof DriverError && /tenant=NAME/.test(e.message) && /network=NAME/.test(e.message),
  );
  assert.throws(
    () => bindingFromNetworkOptions({ 'com.docker.network.generic': { tenant: 'acme', network: 'web', 'label.bad key': 'v' } }),
    /not a valid label/,
  );
});

test('pool ids round-trip and placeholders map back to their token', () => {
  assert.deepEqual(parsePoolId(knownPoolId('acme', 'web', false)), { kind: 'known', tenant: 'acme', network: 'web', family: 4 });
  assert.deepEqual(parsePoolId(pendingPoolId('abcd', true)), { kind: 'pending', token: 'abcd', family: 6 });
  assert.throws(() => parsePoolId('tenet/ACME/web/4'), DriverError);
  assert.throws(() => parsePoolId('something'), DriverError);
  for (const token of ['0000', 'abcd', 'ff01']) {
    const placeholder = placeholderPool(token);
    assert.match(placeholder.pool, /^240\.\d+\.\d+\.0\/24$/);
    assert.equal(tokenOfPlaceholder(placeholder.pool), token);
    const v6 = placeholderPool(token, true);
    assert.match(v6.pool, /^2001:db8:[0-9a-f]{1,4}:240::\/64$/);
    assert.equal(canonicalCidrText(v6.pool), v6.pool, 'canonical, as Docker echoes it');
    assert.equal(tokenOfPlaceholder(v6.pool), token);
  }
  assert.equal(tokenOfPlaceholder('10.0.0.0/24'), undefined);
});

test('staging interface names fit in 15 characters and differ per endpoint', () => {
  const name = stagingIfName(EID);
  assert.ok(name.length <= 15);
  assert.notEqual(name, stagingIfName(`0${EID.slice(1)}`));
});

test('the address picker skips used and recently proposed addresses', () => {
  let now = 0;
  const picker = new AddressPicker(() => now);
  const subnets = [{ cidr: '10.5.0.0/29' }];
  const a = picker.pick('acme/web', subnets, ['10.5.0.2'], 4);
  assert.deepEqual(a, { address: '10.5.0.3', prefix: 29 });
  const b = picker.pick('acme/web', subnets, ['10.5.0.2'], 4);
  assert.equal(b?.address, '10.5.0.4', 'a proposal is held back');
  assert.equal(picker.pick('other/net', subnets, [], 4)?.address, '10.5.0.2', 'holds are per network');
  now += 10 * 60_000;
  assert.equal(picker.pick('acme/web', subnets, ['10.5.0.2'], 4)?.address, '10.5.0.3', 'holds expire');
  assert.equal(picker.pick('acme/web', subnets, ['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6'], 4), undefined, 'full');
  assert.equal(picker.pick('acme/web', subnets, [], 6), undefined, 'no IPv6 subnet');
});
