/** One kernel writer at a time: reconciles and attaches queue here so a diff never races a half-made attach. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The next task starts once the promise jobs this one's end set off have run, not among them: what
    // this task's caller does with its result (an attach writes its answer) goes first, instead of
    // waiting behind the synchronous part of a queued reconcile pass (tens of milliseconds with
    // thousands of endpoints). Not a turn of the event loop later: no I/O (a watch event) comes between.
    this.tail = result.then(afterJobs, afterJobs);
    return result;
  }
}

const afterJobs = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
