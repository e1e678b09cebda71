// Small concurrency primitives: a FIFO semaphore and a per-key FIFO lock built on it.

/** Limits how many tasks run at once; waiters are served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Number of tasks waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

/** One FIFO queue per key (e.g. per app): tasks with the same key never overlap. */
export class KeyedLock {
  private readonly locks = new Map<string, { sem: Semaphore; users: number }>();

  /** True if a task for `key` is running or queued. */
  busy(key: string): boolean {
    return this.locks.has(key);
  }

  /** Runs `task` after every earlier task with the same key has finished. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.locks.get(key);
    if (!entry) this.locks.set(key, (entry = { sem: new Semaphore(1), users: 0 }));
    entry.users++;
    try {
      return await entry.sem.run(task);
    } finally {
      entry.users--;
      if (entry.users === 0) this.locks.delete(key);
    }
  }
}
