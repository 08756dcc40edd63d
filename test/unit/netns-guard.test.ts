/** The namespace guard's decision (src/agent/validate-attach.ts): by device and inode, never by path. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceRefusal, type ForbiddenNamespace } from '../../src/agent/validate-attach';
import { INIT_NET_INODE } from '../../src/agent/netns-guard';

const NSFS = 4;
const forbidden: ForbiddenNamespace[] = [
  { id: { dev: NSFS, ino: 4026532100 }, what: "the agent's own network namespace" },
  { id: { dev: NSFS, ino: INIT_NET_INODE }, what: "the host's initial network namespace" },
  { id: { dev: NSFS, ino: 4026532300 }, what: 'the router namespace of tenant acme (tenet-t-acme)' },
];

test('a forbidden namespace is refused whatever path reached it (same device and inode)', () => {
  // /proc/1/ns/net, /proc/<any pid in it>/ns/net and a bind mount of it all stat to the same identity.
  assert.deepEqual(namespaceRefusal({ dev: NSFS, ino: INIT_NET_INODE }, NSFS, forbidden), {
    status: 403,
    message: "is the host's initial network namespace; containers are never attached there",
  });
  assert.equal(namespaceRefusal({ dev: NSFS, ino: 4026532100 }, NSFS, forbidden)?.status, 403);
  assert.match(namespaceRefusal({ dev: NSFS, ino: 4026532300 }, NSFS, forbidden)?.message ?? '', /router namespace of tenant acme/);
});

test('any other namespace may be used; a file that is not a namespace is a bad request', () => {
  assert.equal(namespaceRefusal({ dev: NSFS, ino: 4026532999 }, NSFS, forbidden), undefined);
  assert.equal(namespaceRefusal({ dev: NSFS, ino: 4026532999 }, NSFS, []), undefined);
  // Same inode number on another file system: not the namespace, and not a namespace at all.
  assert.deepEqual(namespaceRefusal({ dev: 2049, ino: 4026532100 }, NSFS, forbidden), {
    status: 400,
    message: 'is not a network namespace',
  });
});

test("init_net's inode is the kernel's fixed PROC_NET_INIT_INO", () => {
  assert.equal(INIT_NET_INODE, 4026531833);
});
