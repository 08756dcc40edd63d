/** One kernel writer at a time: reconciles and attaches queue here so a diff never races a half-made attach. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The next task starts a turn of the event loop after this one ends, not in the same run of
    // microtasks: what this task's caller does with its result (an attach writes its answer) goes
    // first, instead of waiting behind the synchronous part of a queued reconcile pass (tens of
    // milliseconds with thousands of endpoints).
    this.tail = result.then(nextTurn, nextTurn);
    return result;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
