/** acks: the queue's acknowledgements of one event-loop turn, committed together. */
import type { DurableQueue } from '../backends/ports.js';

/**
 * Group commit of acks: the acks asked for in one event-loop turn (every delivery whose record
 * the same flush wrote, say) go to the queue as one call, one SQLite transaction instead of one
 * each. Each caller still hears when its own ack is done, or failed.
 */
export class Acks {
  private handles: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly queue: DurableQueue) {}

  ack(handles: readonly string[]): Promise<void> {
    if (handles.length === 0) return Promise.resolve();
    if (this.waiters.length === 0) setImmediate(() => this.commit());
    this.handles.push(...handles);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private commit(): void {
    const { handles, waiters } = this;
    this.handles = [];
    this.waiters = [];
    this.queue.ack(handles).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    );
  }
}
