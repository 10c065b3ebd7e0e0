/**
 * postgres/source: the `postgres` triggers of every function, as a `Source` (triggers/sources.ts).
 * A feed (postgres/feed.ts) per trigger of the active version; a deploy that drops or changes a
 * trigger stops its feed, and a trigger that is gone has its capture torn down in the user's
 * database (trigger, function, outbox table, and the schema with the last one). Changes to one
 * function's feeds are made one after the other, so a teardown never races the install that
 * replaces it. A teardown that cannot reach the database is kept and retried (postgres/teardowns.ts).
 */
import type { CaptureTeardown, CaptureTeardowns } from '../../backends/ports.js';
import type { FunctionSpec, PostgresTrigger } from '../../manifest/types.js';
import type { Source, SourceState } from '../sources.js';
import { captureNames } from './capture.js';
import { type FeedDeps, TableFeed } from './feed.js';
import { Teardowns } from './teardowns.js';

export interface PostgresSourceDeps extends FeedDeps {
  /** Captures still to remove, kept across restarts. */
  readonly teardowns: CaptureTeardowns;
  readonly onError: (e: unknown, what: string) => void;
}

/** One trigger per function and table: the same table twice is captured once, for both's changes. */
const feedId = (t: PostgresTrigger): string => `${t.schema}.${t.table}`;
const sameTrigger = (a: PostgresTrigger, b: PostgresTrigger): boolean =>
  a.connection === b.connection && a.on.join() === b.on.join();

const teardownOf = (fn: string, t: PostgresTrigger): CaptureTeardown => ({
  function: fn,
  connection: t.connection,
  schema: t.schema,
  table: t.table,
});

export class PostgresSource implements Source {
  private readonly feeds = new Map<string, Map<string, TableFeed>>();
  /** Per function, the end of its feeds' last change: the next one starts after it. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly teardowns: Teardowns;
  private closed = false;

  constructor(private readonly deps: PostgresSourceDeps) {
    this.teardowns = new Teardowns({ ...deps, store: deps.teardowns });
  }

  serve(spec: FunctionSpec): void {
    if (this.closed) return;
    const wanted = new Map<string, PostgresTrigger>();
    for (const t of spec.triggers) {
      if (t.type !== 'postgres' || wanted.has(feedId(t))) continue;
      const all = spec.triggers.filter(
        (o): o is PostgresTrigger => o.type === 'postgres' && feedId(o) === feedId(t),
      );
      wanted.set(feedId(t), { ...t, on: [...new Set(all.flatMap((o) => o.on))].sort() });
    }
    const feeds = this.feeds.get(spec.name) ?? new Map<string, TableFeed>();
    const stopping: TableFeed[] = [];
    for (const [id, feed] of feeds) {
      const next = wanted.get(id);
      if (next && sameTrigger(next, feed.trigger)) {
        wanted.delete(id); // unchanged: it runs on
        continue;
      }
      feeds.delete(id);
      stopping.push(feed);
    }
    this.feeds.set(spec.name, feeds);
    void this.inTurn(spec.name, async () => {
      for (const feed of stopping) {
        await feed.stop();
        // A changed trigger is set up again by its new feed; one that is gone is torn down.
        const next = wanted.get(feedId(feed.trigger));
        if (next === undefined || next.connection !== feed.trigger.connection) {
          await this.teardowns.remove(teardownOf(spec.name, feed.trigger));
        }
      }
      if (this.closed || this.feeds.get(spec.name) !== feeds) return;
      for (const [id, t] of wanted) {
        const names = captureNames(this.deps.platform, spec.name, t);
        this.teardowns.cancel(teardownOf(spec.name, t)); // set up again before its retry came
        feeds.set(id, new TableFeed(spec.name, t, names, this.deps));
      }
    });
  }

  async forget(name: string): Promise<void> {
    const feeds = [...(this.feeds.get(name)?.values() ?? [])];
    this.feeds.delete(name);
    await this.inTurn(name, async () => {
      for (const feed of feeds) {
        await feed.stop();
        await this.teardowns.remove(teardownOf(name, feed.trigger));
      }
    });
    if (this.feeds.get(name) === undefined) this.chains.delete(name);
  }

  states(name: string): SourceState[] {
    return [...(this.feeds.get(name)?.values() ?? [])].map((f) => f.state());
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.feeds.values()].flatMap((m) => [...m.values()]);
    this.feeds.clear();
    await Promise.all([...this.chains.values(), ...all.map((f) => f.stop())]);
    this.teardowns.close();
  }

  private inTurn(name: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(name) ?? Promise.resolve())
      .then(work)
      .catch((e: unknown) => this.deps.onError(e, `postgres triggers of ${name}`));
    this.chains.set(name, next);
    return next;
  }
}
