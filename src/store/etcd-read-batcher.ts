/**
 * Coalesces concurrent single-key reads into one read-only etcd txn. Every gRPC call costs the
 * controller far more CPU than the read itself, and a create does several reads, so under load
 * this is what keeps the controller from being the bottleneck. A read-only txn is linearizable,
 * and a read joins a batch only after it was asked for, so each read still sees every write that
 * completed before it started.
 */
import type { IKeyValue, ITxnRequest, ITxnResponse } from 'etcd3';

/** etcd's default --max-txn-ops. */
const MAX_BATCH = 128;
/** Batches in flight at once: enough to hide one round trip, few enough that later reads pile up and share. */
const MAX_IN_FLIGHT = 4;

interface PendingRead {
  key: Buffer;
  resolve(kv: IKeyValue | undefined): void;
  reject(error: unknown): void;
}

export class ReadBatcher {
  private queue: PendingRead[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `txn` retries transient failures itself (reads are safe to repeat). */
  constructor(private readonly txn: (request: ITxnRequest) => Promise<ITxnResponse>) {}

  get(key: Buffer): Promise<IKeyValue | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    // Reads asked for in the same turn of the event loop share one batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async run(batch: PendingRead[]): Promise<void> {
    try {
      const res = await this.txn({ success: batch.map((r) => ({ request_range: { key: r.key } })) });
      batch.forEach((read, i) => read.resolve(res.responses[i]?.response_range?.kvs[0]));
    } catch (error) {
      for (const read of batch) read.reject(error);
    }
  }
}
