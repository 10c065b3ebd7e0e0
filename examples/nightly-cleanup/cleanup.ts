// A scheduled cleanup: every night at 03:00 UTC, objects under tmp/ in the `uploads` bucket that are
// older than a day are deleted. (Invoke it with {"olderThanMs": 0} to run it now on everything.)
import type { Context } from 'gust';

const DAY_MS = 24 * 3600 * 1000;

export async function handler(event: { olderThanMs?: number } | null, ctx: Context) {
  const olderThan = typeof event?.olderThanMs === 'number' ? event.olderThanMs : DAY_MS;
  const cutoff = Date.now() - olderThan;
  const uploads = ctx.bucket('uploads');
  const deleted: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof uploads.list>> = await uploads.list({
      prefix: 'tmp/',
      cursor,
      limit: 500,
    });
    for (const o of page.objects) {
      if (Date.parse(o.modified) <= cutoff && (await uploads.delete(o.key))) deleted.push(o.key);
    }
    cursor = page.cursor;
  } while (cursor !== null);
  ctx.log.info(`deleted ${deleted.length} objects older than ${olderThan} ms`);
  return { deleted };
}
