/**
 * postgres/teardowns: removing captures from users' databases (postgres/capture.ts `uninstall`), and
 * not giving up when a database cannot be reached at that moment: a capture not yet removed is kept
 * in the platform's database (CaptureTeardowns) and tried again with backoff (1 s doubling to
 * 5 min), after a restart too, until it is gone, or until the same trigger is set up again. The
 * log says, at the first failure and at each new reason, the statements that remove it by hand.
 */
import type { CaptureTeardown, CaptureTeardowns } from '../../backends/ports.js';
import { type CaptureNames, captureNames, uninstall } from './capture.js';
import { connectionClient, connectionOf, type FeedDeps, reasonOf } from './feed.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60_000;

type Pending = { timer: NodeJS.Timeout | undefined; attempts: number; reason: string };

export class Teardowns {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly deps: Pick<FeedDeps, 'secret' | 'warn' | 'platform'> & {
      readonly store: CaptureTeardowns;
    },
  ) {
    for (const t of deps.store.list()) this.retryLater(t, { timer: undefined, attempts: 0, reason: '' }, 0);
  }

  /** Removes the capture now; resolves either way (a failure is kept and retried). */
  async remove(t: CaptureTeardown): Promise<void> {
    const key = keyOf(t);
    const before = this.pending.get(key) ?? { timer: undefined, attempts: 0, reason: '' };
    clearTimeout(before.timer);
    this.pending.delete(key);
    const names = captureNames(this.deps.platform, t.function, t);
    try {
      const trigger = { type: 'postgres', on: [], ...t } as const;
      const client = connectionClient(connectionOf(this.deps, trigger));
      try {
        await client.connect();
        await uninstall(client, names);
      } finally {
        await client.end().catch(() => {});
      }
      this.deps.store.remove(t);
    } catch (e) {
      this.deps.store.add(t);
      if (this.closed) return;
      const reason = reasonOf(e, { type: 'postgres', on: [], ...t });
      if (reason !== before.reason) {
        this.deps.warn(
          `could not remove the capture of ${t.function}'s postgres trigger on ${t.schema}.${t.table} (${reason}); trying again. By hand: ${manualTeardown(names)}`,
        );
      }
      this.retryLater(t, { timer: undefined, attempts: before.attempts + 1, reason }, before.attempts);
    }
  }

  /** The trigger is set up again (a redeploy): its capture is not to be removed any more. */
  cancel(t: CaptureTeardown): void {
    const key = keyOf(t);
    clearTimeout(this.pending.get(key)?.timer);
    if (this.pending.delete(key)) this.deps.store.remove(t);
  }

  /** Stops retrying; what is still to remove stays in the store for the next start. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private retryLater(t: CaptureTeardown, p: Pending, attempts: number): void {
    if (this.closed) return;
    const delay =
      attempts === 0 && p.reason === '' ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempts);
    p.timer = setTimeout(() => void this.remove(t), delay);
    p.timer.unref();
    this.pending.set(keyOf(t), p);
  }
}

const keyOf = (t: CaptureTeardown): string => JSON.stringify([t.function, t.connection, t.schema, t.table]);

function manualTeardown(n: CaptureNames): string {
  return `DROP TRIGGER IF EXISTS ${n.trigger} ON ${n.table}; DROP TABLE IF EXISTS ${n.outbox}; DROP FUNCTION IF EXISTS ${n.fn}();`;
}
