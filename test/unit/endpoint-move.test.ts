/** When the controller takes an endpoint's container as gone (the only case an admin may move it): the rule itself. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goneReason, HOST_SILENT_MS, isEndpointMove } from '../../src/controller/kinds/endpoint';
import type { Host } from '../../src/core/model/kinds/host';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const host = (status?: Host['status']): Host => ({
  apiVersion: 'tenet.dev/v1',
  kind: 'Host',
  metadata: { name: 'h1' },
  spec: { underlayIP: '192.0.2.1' },
  ...(status ? { status } : {}),
});
const ago = (ms: number) => new Date(NOW - ms).toISOString();

test('a move is a change of spec.host of a placed endpoint, removal included; placing an unplaced one is not', () => {
  assert.equal(isEndpointMove('h1', 'h2'), true);
  assert.equal(isEndpointMove('h1', undefined), true);
  assert.equal(isEndpointMove('h1', 'h1'), false);
  assert.equal(isEndpointMove(undefined, 'h1'), false);
});

test('gone: no Host object, not ready, never reported, or silent beyond the limit; a ready host reporting recently is not', () => {
  assert.match(goneReason('h1', undefined, NOW)!, /does not exist/);
  assert.match(goneReason('h1', host(), NOW)!, /not ready/);
  assert.match(goneReason('h1', host({ ready: false, heartbeatAt: ago(0) }), NOW)!, /not ready/);
  assert.match(goneReason('h1', host({ ready: true }), NOW)!, /never reported/);
  assert.match(goneReason('h1', host({ ready: true, heartbeatAt: 'yesterday' }), NOW)!, /never reported/);
  assert.match(goneReason('h1', host({ ready: true, heartbeatAt: ago(HOST_SILENT_MS + 1000) }), NOW)!, /has not reported for 61 s/);
  assert.equal(goneReason('h1', host({ ready: true, heartbeatAt: ago(HOST_SILENT_MS - 1000) }), NOW), undefined);
  assert.equal(goneReason('h1', host({ ready: true, heartbeatAt: ago(0) }), NOW), undefined);
});
