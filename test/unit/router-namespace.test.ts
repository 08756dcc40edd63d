/**
 * The attach path's side of RouterNamespace: an attach's veth stays protected from passes until the
 * view has caught up with the endpoint's creation (or at once when the attach failed), and the
 * registry counts the attaches in flight across namespaces (the agent's passes wait longer then).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RouterNamespaces } from '../../src/agent/router-namespace';
import { FakeNft } from '../helpers/fake-nft';

test('attachBegun/attachEnded: protection until the view reaches the revision, attaches in flight counted by the registry', () => {
  const namespaces = new RouterNamespaces(new FakeNft());
  const a = namespaces.get('tqunit-r-a');
  const b = namespaces.get('tqunit-r-b');
  a.attachBegun('tva1');
  b.attachBegun('tvb1');
  assert.equal(namespaces.attachesInFlight(), 2);
  assert.deepEqual(a.protectedVeths(0), ['tva1']);

  // Succeeded at revision 7: still protected while the view is older, not once it caught up.
  a.attachEnded('tva1', 7);
  assert.equal(namespaces.attachesInFlight(), 1);
  assert.deepEqual(a.protectedVeths(6), ['tva1']);
  assert.deepEqual(a.protectedVeths(7), []);

  // Failed: no protection left at all, and nothing in flight.
  b.attachEnded('tvb1');
  assert.equal(namespaces.attachesInFlight(), 0);
  assert.deepEqual(b.protectedVeths(0), []);
  // Nothing remembered: both objects go at the next prune.
  namespaces.prune();
  assert.equal(namespaces.find('tqunit-r-a'), undefined);
  assert.equal(namespaces.find('tqunit-r-b'), undefined);
});

test('routing notes: without a record nothing is claimed about a veth; applied is voided by every note', () => {
  const ns = new RouterNamespaces(new FakeNft()).get('tqunit-r-a');
  assert.equal(ns.knowsVeth('tva1'), undefined);
  ns.routing.applied = '{}';
  ns.noteDetached('tva1');
  assert.equal(ns.routing.applied, undefined);
  assert.equal(ns.knowsVeth('tva1'), undefined, 'no record was made up');
});
