/**
 * Uniquely prefixed names for kernel tests, and a sweep that deletes every namespace with the prefix
 * (also those a failed test left behind), so no test can touch another's objects or the machine's.
 */
import crypto from 'node:crypto';
import { delNetns, listNetns } from '../../src/kernel/ip';

/** A short random lab/namespace stem: a letter then 7 letters/digits. */
export function uniqueStem(letter = 't'): string {
  return `${letter}${crypto.randomBytes(4).toString('hex').slice(0, 7)}`;
}

export async function deleteNetnsWithPrefix(prefix: string): Promise<void> {
  await Promise.all(listNetns().filter((n) => n.startsWith(prefix)).map((n) => delNetns(n)));
}

export function netnsWithPrefix(prefix: string): string[] {
  return listNetns().filter((n) => n.startsWith(prefix));
}
