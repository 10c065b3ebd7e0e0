import type { Context } from 'gust';

interface Tick {
  readonly type: string;
  readonly data?: { readonly scheduledTime?: string };
}

/** Runs every minute (a schedule trigger) and publishes a small report on the `reports` topic. */
export async function handler(event: Tick, ctx: Context): Promise<{ id: string }> {
  const report = {
    at: event.data?.scheduledTime ?? new Date().toISOString(),
    uptimeSeconds: Math.round(process.uptime()),
    memoryMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
  ctx.log.info('report', JSON.stringify(report));
  return ctx.publish('reports', report);
}
