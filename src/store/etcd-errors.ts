/** How the etcd store tells transient failures (worth another member or another try) from final ones. */
import { isRecoverableError } from 'etcd3';

/**
 * Failures where another attempt may succeed: the member is down or restarting, the cluster is
 * electing a leader, or the request timed out. For a txn these are ambiguous: it may have been
 * committed before the reply was lost.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isRecoverableError(error)) return true;
  return /leader changed|no leader|request timed out|too many requests|not capable|unhealthy cluster/i.test(error.message);
}

export function isCompactedMessage(error: unknown): boolean {
  return error instanceof Error && /required revision has been compacted/.test(error.message);
}

export function isFutureRevisionMessage(error: unknown): boolean {
  return error instanceof Error && /required revision is a future revision/.test(error.message);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs fn until it succeeds, fails for good, or the budget is spent. The budget covers an etcd
 * leader election (about one election timeout) plus the client noticing a dead member.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, budgetMs = 10_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let delay = 25;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isTransient(error) || Date.now() + delay > deadline) throw error;
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }
}
