/** Reading back from BIRD what it really announces (src/agent/bgp.ts): the session state and the exported host routes. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { birdExportedAddresses, birdSessionEstablished } from '../../src/agent/bgp';

test('a session counts only when up and Established', () => {
  const head = 'BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n';
  assert.equal(birdSessionEstablished(`${head}upstream   BGP        ---        up     00:01:02.345  Established   \n`), true);
  assert.equal(
    birdSessionEstablished(`${head}upstream   BGP        ---        start  00:01:02.345  Active        Socket: Connection refused\n`),
    false,
  );
  assert.equal(birdSessionEstablished(`${head}upstream   BGP        ---        start  00:01:02.345  Connect\n`), false);
  assert.equal(birdSessionEstablished(`${head}other      BGP        ---        up     00:01:02.345  Established\n`), false);
});

test('exported host routes of both families are read as canonical addresses; other prefixes are not', () => {
  const text = [
    'BIRD 2.0.12 ready.',
    'Table master4:',
    '198.18.100.1/32      blackhole [floating 00:00:03.120] * (200)',
    '198.18.100.7/32      blackhole [floating 00:00:03.120] * (200)',
    '10.0.0.0/8           unreachable [other 00:00:03.120] * (200)',
    'Table master6:',
    '2001:db8:100:0:0:0:0:1/128 blackhole [floating6 00:00:03.120] * (200)',
    '',
  ].join('\n');
  assert.deepEqual([...birdExportedAddresses(text)].sort(), ['198.18.100.1', '198.18.100.7', '2001:db8:100::1']);
  assert.deepEqual([...birdExportedAddresses('BIRD 2.0.12 ready.\n')], []);
});
