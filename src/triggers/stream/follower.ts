/**
 * triggers/stream/follower: one stream trigger of one function. Connects (reconnecting with backoff,
 * 1 s doubling to 30 s, the secret read again at each attempt), gathers messages into batches of up
 * to `batch` or `window`, whichever comes first, and queues each batch as ONE event on the function's
 * durable queue: from there it is delivered, retried and dead-lettered as every queued event is.
 * The broker's messages are acked only when that event has left the queue for good (`settled`:
 * ran ok, or dead-lettered). What a stop can lose: nothing the broker keeps; a batch queued but not
 * settled when Gust stopped runs from the queue and again from the broker's redelivery (at least once).
 */
import { isUtf8 } from 'node:buffer';
import type { EnqueueResult } from '../../backends/ports.js';
import { newInvocationId } from '../../dispatch/invocation.js';
import type { QueuedEvent, StreamMessage } from '../../events/types.js';
import type { StreamTrigger } from '../../manifest/types.js';
import { newTrace } from '../../observe/trace-context.js';
import type { SourceState } from '../sources.js';
import { type Broker, type Received, reasonOf, type Session } from './broker.js';

/** A message above this is refused (recorded and dead-lettered), never run. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** A batch is cut short before its payloads pass this: an event must fit an instance's channel. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const BACKOFF_MS = { first: 1000, max: 30_000 };
/** JetStream gives a message again after 60 s without an ack: say it is still being worked on. */
const WORKING_EVERY_MS = 20_000;

export interface FollowerDeps {
  readonly fn: string;
  readonly trigger: StreamTrigger;
  /** The trigger as `gust ls` shows it. */
  readonly label: string;
  /** Stable per function and trigger: MQTT client id, JetStream durable name. */
  readonly name: string;
  readonly inFlight: number;
  readonly broker: Broker;
  /** The broker URL (the secret's current value), or undefined when the secret is not set. */
  readonly url: () => string | undefined;
  readonly submit: (events: readonly QueuedEvent[]) => Promise<EnqueueResult>;
  /** Told when the trigger starts failing, or fails for another reason (the platform's log). */
  readonly warn?: (message: string) => void;
}

type Batch = { messages: StreamMessage[]; received: Received[]; bytes: number; timer: NodeJS.Timeout };

export class Follower {
  private current: SourceState;
  private session: Session | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private batch: Batch | undefined;
  /** Queued batches not settled yet: their broker messages, acked when they are. */
  private readonly pending = new Map<string, Received[]>();
  /** Set when the follower drops its own session (the queue was full): the reason shown. */
  private dropped: string | undefined;
  private readonly working: NodeJS.Timeout;

  constructor(private readonly deps: FollowerDeps) {
    this.current = this.stateOf('connecting', null);
    this.working = setInterval(() => {
      for (const received of this.pending.values()) for (const r of received) r.working?.();
    }, WORKING_EVERY_MS).unref();
    void this.run();
  }

  get state(): SourceState {
    return this.current;
  }

  /** Stops; with `forget`, also removes what the trigger set up in the broker. */
  async stop(forget: boolean): Promise<void> {
    this.stopped = true;
    clearInterval(this.working);
    this.dropBatch();
    this.wake?.();
    await this.session?.close();
    const url = this.deps.url();
    if (forget && url !== undefined) {
      await this.deps.broker.forget({ url, trigger: this.deps.trigger, name: this.deps.name });
    }
  }

  /** The queued event `invocationId` is done with: its messages are acked to the broker. */
  settled(invocationId: string): void {
    const received = this.pending.get(invocationId);
    this.pending.delete(invocationId);
    for (const r of received ?? []) r.ack();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const url = this.deps.url();
      const secret = this.deps.trigger.connection;
      if (url === undefined) {
        this.setState('failing', `no secret ${secret}: set it with gust secrets set ${secret}`);
      } else {
        try {
          const session = await this.deps.broker.connect({
            url,
            trigger: this.deps.trigger,
            name: this.deps.name,
            inFlight: this.deps.inFlight,
            onMessage: (m) => this.receive(m),
          });
          if (this.stopped) {
            await session.close();
            return;
          }
          this.session = session;
          failures = 0;
          this.setState('running', null);
          const why = await session.lost;
          this.session = undefined;
          await session.close().catch(() => {}); // lost with its connection still open (a consumer gone)
          this.dropBatch(); // its messages were not acked: the broker gives them again
          if (this.stopped) return;
          this.setState('failing', this.dropped ?? why);
          this.dropped = undefined;
        } catch (e) {
          this.setState('failing', reasonOf(e));
        }
      }
      failures++;
      await this.pause(Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** (failures - 1)));
      if (!this.stopped && this.current.state === 'failing') this.setState('connecting', this.current.reason);
    }
  }

  private receive(r: Received): void {
    if (this.stopped) return;
    const size = r.body.byteLength;
    if (size > MAX_MESSAGE_BYTES) {
      this.flush();
      const refused = `a ${this.deps.trigger.from} message on ${r.subject} of ${size} bytes is over the ${MAX_MESSAGE_BYTES} bytes a stream message may carry: refused, not run`;
      this.queue([{ ...this.message(r), payload: null, encoding: 'json' }], [r], refused);
      return;
    }
    if (this.batch && this.batch.bytes + size > MAX_BATCH_BYTES) this.flush();
    if (!this.batch) {
      const timer = setTimeout(() => this.flush(), this.deps.trigger.windowMs);
      this.batch = { messages: [], received: [], bytes: 0, timer };
    }
    this.batch.messages.push(this.message(r));
    this.batch.received.push(r);
    this.batch.bytes += size;
    if (this.batch.messages.length >= this.deps.trigger.batch) this.flush();
  }

  private message(r: Received): StreamMessage {
    return {
      id: r.id ?? newInvocationId(),
      subject: r.subject,
      headers: r.headers,
      ...decode(r.body),
      receivedAt: new Date().toISOString(),
    };
  }

  private flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    clearTimeout(batch.timer);
    this.queue(batch.messages, batch.received);
  }

  private queue(messages: StreamMessage[], received: Received[], refused?: string): void {
    const invocationId = newInvocationId();
    const event: QueuedEvent = {
      v: 1,
      function: this.deps.fn,
      trigger: 'stream',
      invocationId,
      ...newTrace(),
      source: { kind: 'stream', from: this.deps.trigger.from, batch: this.deps.trigger.batch, messages },
      ...(refused === undefined ? {} : { refused }),
    };
    this.pending.set(invocationId, received);
    const session = this.session;
    this.deps.submit([event]).then(
      (queued) => {
        if (!queued.ok)
          this.drop(
            invocationId,
            session,
            `the queue of ${this.deps.fn} is full: ${this.deps.trigger.from} messages wait in the broker`,
          );
      },
      (e: unknown) => this.drop(invocationId, session, `queueing a batch failed: ${reasonOf(e)}`),
    );
  }

  /** A batch could not be queued: the session ends, so that the broker gives its messages again later. */
  private drop(invocationId: string, session: Session | undefined, reason: string): void {
    this.pending.delete(invocationId);
    if (session !== this.session || !session) return;
    this.dropped = reason;
    void session.close();
  }

  private dropBatch(): void {
    if (this.batch) clearTimeout(this.batch.timer);
    this.batch = undefined;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private setState(state: SourceState['state'], reason: string | null): void {
    if (this.current.state === state && this.current.reason === reason) return;
    if (state === 'failing' && reason !== this.current.reason) {
      this.deps.warn?.(`${this.deps.label} trigger of ${this.deps.fn} is failing: ${reason}`);
    }
    this.current = this.stateOf(state, reason);
  }

  private stateOf(state: SourceState['state'], reason: string | null): SourceState {
    return { trigger: this.deps.label, state, reason, since: new Date().toISOString() };
  }
}

/** Parsed JSON when it is JSON, else its text, else (not UTF-8) its base64. */
export function decode(body: Uint8Array): Pick<StreamMessage, 'payload' | 'encoding'> {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!isUtf8(bytes)) return { payload: bytes.toString('base64'), encoding: 'base64' };
  const text = bytes.toString('utf8');
  try {
    return { payload: JSON.parse(text) as unknown, encoding: 'json' };
  } catch {
    return { payload: text, encoding: 'text' };
  }
}
