/**
 * observe/kept-inputs: the platform's side of the inputs kept for replay. At each records' flush
 * the Recorder hands over the invocations of its batch (`keep`); they are packed into one flat array
 * (input-batch.ts) and posted to the input worker (input-worker.ts), which makes the requests' JSON,
 * writes them to `<data>/inputs.db`, prunes that file for time and size, and answers reads. Neither
 * the rows' inserts nor their fsyncs run on the platform's thread, nor wait for gust.db's writer.
 * - Bounded: at most MAX_WAITING inputs (or MAX_WAITING_BYTES of them) handed over and not yet
 *   written; past that they are dropped (counted, said in the log at most once a minute), never
 *   memory. A dropped input only makes its invocation not replayable.
 * - Reads (`get`, `size`) are asked of the worker and answered after every batch handed over before
 *   them: what a flush handed over is found by any read after it.
 * - What a crash loses: inputs handed over and not yet written (about the last flush's). Records
 *   are what at-least-once is about; an invocation whose input was lost cannot be replayed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InputStore, KeptInput } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { formatBytes } from '../lib/bytes.js';
import { type InputBatch, packInputs } from './input-batch.js';
import type { InputRetention, InputsPruned } from './retention.js';

/** Settings of the worker (input-worker.ts). */
export interface InputWorkerData extends InputRetention {
  /** The SQLite file it keeps them in. */
  readonly file: string;
  /** Bigger events and requests are not kept, only their size. */
  readonly maxEventBytes: number;
}

/** A question for the worker, answered in turn with the batches. */
export type InputQuestion =
  | { readonly what: 'get'; readonly id: string }
  | { readonly what: 'size' }
  | { readonly what: 'prune' };

/** Platform -> worker. */
export type ToInputWorker =
  | { readonly t: 'keep'; readonly batch: InputBatch }
  | { readonly t: 'ask'; readonly ask: number; readonly question: InputQuestion }
  | { readonly t: 'close' };

/** Worker -> platform. */
export type FromInputWorker =
  /** A batch is done with (written, or failed and said so): it no longer counts against the bound. */
  | { readonly t: 'kept'; readonly count: number; readonly bytes: number }
  | { readonly t: 'answer'; readonly ask: number; readonly value?: unknown; readonly error?: string }
  | { readonly t: 'failed'; readonly message: string }
  /** A pass of its pruner that deleted some. */
  | ({ readonly t: 'pruned' } & InputsPruned)
  | { readonly t: 'closed' };

export interface KeptInputsOptions extends InputWorkerData {
  readonly onError: (e: unknown) => void;
  /** A pass of the worker's pruner that deleted some (the platform logs it at debug). */
  readonly pruned?: (counts: InputsPruned) => void;
  /** How many inputs, and bytes of them, may wait for the worker (tests make it small). */
  readonly waiting?: { readonly count: number; readonly bytes: number };
}

/** Inputs handed over and not yet written: a minute of a slow disk at a few thousand calls a second. */
const MAX_WAITING = 100_000;
const MAX_WAITING_BYTES = 64 * 1024 ** 2;
/** The built worker, whether this file runs from src/ (tests) or dist/. */
const WORKER = path.resolve(fileURLToPath(import.meta.url), '../../../dist/observe/input-worker.js');
const CLOSE_WAIT_MS = 10_000;
const COMPLAIN_EVERY_MS = 60_000;

export class KeptInputs implements Pick<InputStore, 'get' | 'size'> {
  private readonly most: { readonly count: number; readonly bytes: number };
  private waiting = { count: 0, bytes: 0 };
  /** What went wrong since the log last said so: inputs dropped, batches not written (the last's error). */
  private dropped = 0;
  private failures = 0;
  private lastFailure = '';
  private lastComplaint = 0;
  private asked = 0;
  private readonly asks = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Why the worker stopped (its error), once it did. */
  private why: string | undefined;
  private stopped: Error | undefined;
  private closed: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  /**
   * Starts the worker, which opens its file meanwhile (what is handed over or asked waits for it):
   * the platform's start does not wait. A file it cannot open is said in the log, and then nothing
   * is kept and reads fail with the reason.
   */
  static start(opts: KeptInputsOptions): KeptInputs {
    const { file, maxEventBytes, retentionMs, maxBytes } = opts;
    const workerData: InputWorkerData = { file, maxEventBytes, retentionMs, maxBytes };
    const worker = new Worker(WORKER, { workerData });
    worker.unref();
    return new KeptInputs(worker, opts);
  }

  private constructor(
    private readonly worker: Worker,
    private readonly opts: KeptInputsOptions,
  ) {
    this.most = opts.waiting ?? { count: MAX_WAITING, bytes: MAX_WAITING_BYTES };
    worker.on('message', (m: FromInputWorker) => this.heard(m));
    worker.on('error', (e) => {
      this.why = e.message;
      this.opts.onError(e);
    });
    worker.on('exit', () => {
      this.stopped = new GustError(
        'UNAVAILABLE',
        `the inputs kept for replay cannot be read: ${this.why ?? 'their worker stopped'}`,
      );
      for (const { reject } of this.asks.values()) reject(this.stopped);
      this.asks.clear();
      this.closed?.();
    });
  }

  /** The inputs of a records' batch, handed over at once; never throws. */
  keep(invocations: readonly Invocation[]): void {
    if (invocations.length === 0) return;
    const { count, bytes } = this.waiting;
    if (this.stopped || count >= this.most.count || bytes >= this.most.bytes) {
      this.drop(invocations.length);
      return;
    }
    const batch = packInputs(invocations, this.opts.maxEventBytes, this.opts.onError);
    try {
      this.post({ t: 'keep', batch });
    } catch (e) {
      this.opts.onError(e);
      this.drop(batch.count);
      return;
    }
    this.waiting = { count: count + batch.count, bytes: bytes + batch.bytes };
  }

  get(id: string): Promise<KeptInput | undefined> {
    return this.ask({ what: 'get', id }) as Promise<KeptInput | undefined>;
  }

  size(): Promise<{ inputs: number; bytes: number }> {
    return this.ask({ what: 'size' }) as Promise<{ inputs: number; bytes: number }>;
  }

  /** One pass of the worker's pruner (it runs its own every 10 s); how many it deleted. */
  prune(): Promise<number> {
    return this.ask({ what: 'prune' }) as Promise<number>;
  }

  /** Writes what was handed over (within CLOSE_WAIT_MS), closes the file, stops the worker. */
  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  private async shut(): Promise<void> {
    if (!this.stopped) {
      const closed = new Promise<void>((resolve) => (this.closed = resolve));
      this.post({ t: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    this.complain(true);
    await this.worker.terminate();
  }

  private heard(m: FromInputWorker): void {
    if (m.t === 'kept') {
      this.waiting = { count: this.waiting.count - m.count, bytes: this.waiting.bytes - m.bytes };
    } else if (m.t === 'answer') {
      const ask = this.asks.get(m.ask);
      this.asks.delete(m.ask);
      if (m.error === undefined) ask?.resolve(m.value);
      else ask?.reject(new Error(m.error));
    } else if (m.t === 'failed') {
      this.failures++;
      this.lastFailure = m.message;
      this.complain(false);
    } else if (m.t === 'pruned') this.opts.pruned?.({ expired: m.expired, overSize: m.overSize });
    else if (m.t === 'closed') this.closed?.();
  }

  private ask(question: InputQuestion): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const ask = ++this.asked;
    return new Promise((resolve, reject) => {
      this.asks.set(ask, { resolve, reject });
      this.post({ t: 'ask', ask, question });
    });
  }

  private post(m: ToInputWorker): void {
    this.worker.postMessage(m);
  }

  private drop(n: number): void {
    this.dropped += n;
    this.complain(false);
  }

  /** What was lost since the last time, said at once the first time, then at most once a minute. */
  private complain(now: boolean): void {
    if (this.dropped + this.failures === 0) return;
    if (!now && Date.now() - this.lastComplaint < COMPLAIN_EVERY_MS) return;
    this.lastComplaint = Date.now();
    const what = [
      this.dropped > 0
        ? `${this.dropped} input(s) dropped, more than their writer kept up with (${this.most.count} inputs or ${formatBytes(this.most.bytes)} waiting)`
        : '',
      this.failures > 0 ? `${this.failures} problem(s) writing them, the last: ${this.lastFailure}` : '',
    ].filter(Boolean);
    this.dropped = 0;
    this.failures = 0;
    this.opts.onError(
      new Error(
        `keeping inputs for replay in ${this.opts.file}: ${what.join('; ')}; those invocations cannot be replayed`,
      ),
    );
  }
}
