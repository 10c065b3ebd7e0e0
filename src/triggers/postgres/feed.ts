/**
 * postgres/feed: one `postgres` trigger's connection to the user's database. It sets the capture up
 * (postgres/capture.ts), listens for its notifications, and moves the outbox's changes to the
 * function's durable queue in `seq` order, a batch at a time: the batch is enqueued (one SQLite
 * transaction, committed) and only then deleted from the outbox, so a change leaves the user's
 * database only once Gust holds it. A crash between the two queues the batch again at the next
 * start under the same invocation ids (the queue drops those still waiting: at least once, and
 * twice only for a change that had already run). A clean stop finishes the batch under way first.
 *
 * A server that is down, refuses the credentials, or lacks the table is not an error of the
 * platform: the feed says `failing` with the reason and tries again with backoff (1 s doubling to
 * 15 s), reading the secret anew each time, so `gust secrets set` or creating the table repairs it.
 */
import pg from 'pg';
import type { Deliveries } from '../../dispatch/deliveries.js';
import type { QueuedEvent } from '../../events/types.js';
import type { PostgresTrigger } from '../../manifest/types.js';
import { newTrace } from '../../observe/trace-context.js';
import type { SourceState } from '../sources.js';
import {
  type CapturedChange,
  type CaptureNames,
  deleteChanges,
  install,
  installed,
  readChanges,
  tableProblem,
} from './capture.js';

export interface FeedDeps {
  /** This platform's id in the names of its captures (postgres/capture.ts captureNames). */
  readonly platform: string;
  readonly deliveries: Pick<Deliveries, 'submit'>;
  /** A secret's current value, or undefined when there is none. */
  readonly secret: (name: string) => string | undefined;
  readonly warn: (message: string) => void;
}

/** Changes read and queued per transaction. */
const BATCH = 500;
/** The outbox is read this often even without a notification (one lost with a broken connection). */
const POLL_MS = 5000;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** A problem of the user's setup (no secret, no table), said as it is, without a stack. */
export class SetupProblem extends Error {}

/** The capture trigger went with its table (dropped, made again): installed again at the next session. */
class CaptureLost extends SetupProblem {
  constructor() {
    super(
      'the table lost its capture trigger (dropped and made again?): installing it again; changes made in between were not captured',
    );
  }
}

export function connectionClient(url: string): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'gust',
    keepAlive: true,
  });
  // A connection lost between two queries is an 'error' event, which unheard would end the
  // platform; the next query on it fails, and that failure is what its user handles.
  client.on('error', () => {});
  return client;
}

/** The connection string of a trigger, or a SetupProblem saying how to set it. */
export function connectionOf(deps: Pick<FeedDeps, 'secret'>, t: PostgresTrigger): string {
  const url = deps.secret(t.connection);
  if (url === undefined || url.trim() === '') {
    throw new SetupProblem(
      `no secret ${t.connection}: set it to a connection string with gust secrets set ${t.connection}`,
    );
  }
  return url.trim();
}

/** What a failure is called in the trigger's state: one line, never a password. */
export function reasonOf(e: unknown, t: PostgresTrigger): string {
  if (e instanceof SetupProblem) return e.message;
  const err = e as { code?: string; message?: string };
  const what = `${err.message ?? String(e)}${err.code && !err.message?.includes(err.code) ? ` (${err.code})` : ''}`;
  return `cannot use the database of secret ${t.connection}: ${what.replace(/postgres(ql)?:\/\/[^\s]*/g, '<url>')}`;
}

export class TableFeed {
  private current: SourceState;
  private stopped = false;
  private poked = false;
  private wake: (() => void) | undefined;
  private client: pg.Client | undefined;
  private draining = false;
  /** The last batch found the function's queue full (said once, not at every try). */
  private full = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly fn: string,
    readonly trigger: PostgresTrigger,
    private readonly names: CaptureNames,
    private readonly deps: FeedDeps,
  ) {
    this.current = this.stateOf('connecting', null);
    this.done = this.run();
  }

  state(): SourceState {
    return this.current;
  }

  /** Stops reading; resolves once a batch under way is queued and deleted, and the connection closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    if (!this.draining) void this.client?.end().catch(() => {});
    await this.done;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.session(() => {
          failures = 0;
        });
      } catch (e) {
        if (this.stopped) break;
        failures++;
        const reason = reasonOf(e, this.trigger);
        if (this.current.state !== 'failing' || this.current.reason !== reason) {
          this.deps.warn(`postgres trigger of ${this.fn} on ${this.label()} is failing: ${reason}`);
          this.current = this.stateOf('failing', reason);
        }
        const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1));
        await this.idle(backoff * (0.75 + Math.random() / 2));
      }
    }
  }

  /** One connection, from connect to its end (stopped: returns; broken: throws). */
  private async session(connected: () => void): Promise<void> {
    const client = connectionClient(connectionOf(this.deps, this.trigger));
    let broken: Error | undefined;
    client.on('error', (e) => {
      broken = e;
      this.poke();
    });
    client.on('notification', () => this.poke());
    this.client = client;
    try {
      await client.connect();
      const problem = await tableProblem(client, this.trigger);
      if (problem !== undefined) throw new SetupProblem(problem);
      await install(client, this.names, this.trigger);
      await client.query(`LISTEN ${this.names.channel}`);
      connected();
      this.current = this.stateOf('running', null);
      let looked = Date.now();
      while (!this.stopped) {
        if (broken) throw broken;
        const next = await this.drain(client);
        if (next === 'more') continue;
        // the table dropped and made again (a migration) lost the trigger: say so, and the next
        // session installs it again (changes made in between were never captured). Looked at once
        // a poll, not after every notified change.
        if (Date.now() - looked >= POLL_MS) {
          looked = Date.now();
          if (!(await installed(client, this.names))) throw new CaptureLost();
        }
        await this.idle(next === 'full' ? FIRST_BACKOFF_MS : POLL_MS);
      }
    } finally {
      this.client = undefined;
      await client.end().catch(() => {});
    }
  }

  /** Moves one batch from the outbox to the queue: `more` when a full batch was moved. */
  private async drain(client: pg.Client): Promise<'more' | 'idle' | 'full'> {
    this.draining = true;
    try {
      const changes = await readChanges(client, this.names, BATCH);
      if (changes.length === 0) return 'idle';
      const queued = await this.deps.deliveries.submit(changes.map((c) => this.event(c)));
      if (!queued.ok) {
        // Backpressure: the changes wait in the outbox, inside the user's database.
        if (!this.full) {
          this.deps.warn(
            `the queue of ${this.fn} is full (${queued.depth} events): its changes wait in ${this.names.outbox}`,
          );
        }
        this.full = true;
        return 'full';
      }
      this.full = false;
      await deleteChanges(
        client,
        this.names,
        changes.map((c) => c.seq),
      );
      return changes.length === BATCH ? 'more' : 'idle';
    } finally {
      this.draining = false;
    }
  }

  private event(c: CapturedChange): QueuedEvent {
    return {
      v: 1,
      function: this.fn,
      trigger: 'postgres',
      invocationId: c.id,
      ...newTrace(),
      orderKey: `postgres:${this.trigger.schema}.${this.trigger.table}`,
      source: {
        kind: 'postgres',
        schema: this.trigger.schema,
        table: this.trigger.table,
        op: c.op,
        old: c.old,
        new: c.new,
        at: c.at.toISOString(),
        seq: c.seq,
      },
    };
  }

  private poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /** Waits `ms`, or less when poked (a notification, a broken connection, a stop). */
  private idle(ms: number): Promise<void> {
    if (this.poked || this.stopped) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.poked = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  private label(): string {
    return `${this.trigger.schema}.${this.trigger.table}`;
  }

  private stateOf(state: SourceState['state'], reason: string | null): SourceState {
    return { trigger: `postgres ${this.label()}`, state, reason, since: new Date().toISOString() };
  }
}
