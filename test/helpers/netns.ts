/**
 * Uniquely prefixed names for kernel tests, and a sweep that deletes every namespace with the prefix
 * (also those a failed test left behind), so no test can touch another's objects or the machine's.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { delNetns, listNetns } from '../../src/kernel/ip';

/**
 * Notes a random name stem for scripts/run-tests.js (TENET_TEST_STEMS names its file): at the end of a
 * run it reports every network namespace whose name holds a stem of this run. Only names this run
 * made can hold one, so namespaces of other runs on the machine are never counted (or removed).
 */
export function registerTestStem(stem: string): string {
  const file = process.env.TENET_TEST_STEMS;
  if (file) fs.appendFileSync(file, `${stem}\n`);
  return stem;
}

/** A short random lab/namespace stem: a letter then 7 letters/digits. */
export function uniqueStem(letter = 't'): string {
  return registerTestStem(`${letter}${crypto.randomBytes(4).toString('hex').slice(0, 7)}`);
}

export async function deleteNetnsWithPrefix(prefix: string): Promise<void> {
  await Promise.all(
    listNetns()
      .filter((n) => n.startsWith(prefix))
      .map((n) => delNetns(n)),
  );
}

export function netnsWithPrefix(prefix: string): string[] {
  return listNetns().filter((n) => n.startsWith(prefix));
}
