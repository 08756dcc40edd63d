/**
 * Runs `work` over `items` with at most `limit` at once: a lab of 2,000 containers would otherwise start
 * 2,000 `ip` processes together (and some of them fail for want of resources).
 */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}
