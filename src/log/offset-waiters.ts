/** Promises waiting for an offset to be reached, resolved in offset order. */

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class OffsetWaiters {
  private queue: Waiter[] = [];
  private head = 0;

  /** Resolves once `reach(n)` is called with n >= offset. */
  wait(offset: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // Kept sorted: callers usually wait in offset order, so this is almost always a push.
      let at = this.queue.length;
      while (at > this.head && this.queue[at - 1]!.offset > offset) at--;
      this.queue.splice(at, 0, { offset, resolve, reject });
    });
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  reach(offset: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.offset <= offset) {
      this.queue[this.head++]!.resolve();
    }
    this.compact();
  }

  /** Rejects every waiter above `offset` (all of them by default). */
  fail(error: Error, above = -Infinity): void {
    const kept: Waiter[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const waiter = this.queue[i]!;
      if (waiter.offset > above) waiter.reject(error);
      else kept.push(waiter);
    }
    this.queue = kept;
    this.head = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
