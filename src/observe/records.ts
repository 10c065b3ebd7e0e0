/**
 * observe/records: invocation records, metered as the clouds bill (billed ms rounded up to 1 ms;
 * GB-s = MB / 1024 x billed s), written in batches off the hot path. Readers flush first, so
 * what the API shows is never behind what was answered. With `inputs`, the invocations of each
 * batch are handed over as it is flushed, for what they got to be kept for replay
 * (observe/kept-inputs.ts: on another thread, apart from the records' write and its outcome).
 */
import type { InvocationRecord, InvocationStore } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';

const FLUSH_EVERY_MS = 50;
const FLUSH_AT = 500;
const RETRY_AFTER_MS = 1000;
const MAX_PENDING = 100_000;

/** A cold start bills its init time too (as Lambda does for on-demand functions). */
export function meter(input: { durationMs: number; initMs: number; cold: boolean; memoryMb: number }): {
  billedMs: number;
  gbSeconds: number;
} {
  const billedMs = Math.max(1, Math.ceil(input.durationMs + (input.cold ? input.initMs : 0)));
  return { billedMs, gbSeconds: (input.memoryMb / 1024) * (billedMs / 1000) };
}

export interface RecorderOptions {
  /** Sees each record as it is taken (observe/metrics.ts): every invocation's one way out. */
  readonly observe?: (r: InvocationRecord) => void;
  /** Keeps what each invocation got (observe/kept-inputs.ts); absent: nothing is kept. */
  readonly inputs?: InputSink;
}

/** Where the invocations of a flushed batch go, for their inputs to be kept. Never throws. */
export interface InputSink {
  keep(invocations: readonly Invocation[]): void;
}

export class Recorder {
  private buffer: InvocationRecord[] = [];
  /** The invocations of the records in `buffer` whose inputs are kept. */
  private invocations: Invocation[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Callers of `written` waiting for the records in `buffer`. */
  private waiters: (() => void)[] = [];
  /** Callers of `written` waiting for the last batch flushed, until it is written. */
  private last: (() => void)[] | undefined;
  /** A write failed and its records are back in the buffer: no later batch's waiters resolve before them. */
  private owed = false;

  constructor(
    private readonly store: InvocationStore,
    private readonly onError: (e: unknown) => void,
    private readonly opts: RecorderOptions = {},
  ) {}

  /** `inv`: the invocation of the record, whose input is kept if inputs are. */
  record(r: InvocationRecord, inv?: Invocation): void {
    this.opts.observe?.(r);
    this.buffer.push(r);
    if (inv !== undefined && this.opts.inputs !== undefined) this.invocations.push(inv);
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /**
   * Resolves once every record made so far has been written (by the next flush, within 50 ms; not
   * one flush per caller): a queued event is acked only then, so a crash cannot lose the record of
   * a delivery that will not run again. After a failed write, not before its records are written.
   */
  written(): Promise<void> {
    const list = this.buffer.length > 0 ? this.waiters : this.last;
    if (list === undefined) return Promise.resolve();
    return new Promise((resolve) => list.push(resolve));
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    // handed over now, not after the write: a read after this flush finds them (control/replay.ts)
    this.opts.inputs?.keep(this.invocations);
    this.invocations = [];
    const waiters = this.waiters;
    this.waiters = [];
    this.last = waiters;
    // the records of a failed write went back to the front of the buffer: this batch has them
    const repays = this.owed;
    this.writing = this.writing.then(async () => {
      const ok = await this.write(batch);
      if (this.last === waiters) this.last = undefined;
      if (ok && repays) this.owed = false;
      if (ok && !this.owed) for (const resolve of waiters) resolve();
      else this.waiters.push(...waiters); // for the flush that writes what failed
    });
    return this.writing;
  }

  private async write(batch: InvocationRecord[]): Promise<boolean> {
    if (batch.length === 0) return true;
    try {
      await this.store.add(batch);
      return true;
    } catch (e) {
      this.onError(e);
      // Kept for the next flush (a full disk, a busy database), within a bound: billing needs them.
      const keep = batch.slice(-Math.max(0, MAX_PENDING - this.buffer.length));
      this.buffer = [...keep, ...this.buffer];
      this.owed = true;
      this.timer ??= setTimeout(() => void this.flush(), RETRY_AFTER_MS);
      return false;
    }
  }
}
