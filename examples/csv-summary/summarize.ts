// Data processing: a CSV uploaded under csv/ in the `uploads` bucket is parsed as it streams (with
// csv-parse from npm, bundled at deploy) and a JSON summary is written to the `reports` bucket.
// Rows are never held together: a CSV far larger than the function's memory works the same.
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { parse } from 'csv-parse';
import type { Context } from 'gust';

interface BucketEvent {
  readonly data: { readonly bucket: string; readonly key: string };
}

export async function handler(event: BucketEvent, ctx: Context) {
  const { bucket, key } = event.data;
  const object = await ctx.bucket(bucket).get(key);
  if (!object) return { skipped: `${key} is gone` }; // deleted since it was uploaded
  const parser = Readable.fromWeb(object.body as unknown as NodeWebStream<Uint8Array>).pipe(
    parse({ columns: true, skip_empty_lines: true, trim: true }),
  );
  let rows = 0;
  const sums: Record<string, number> = {};
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    rows++;
    for (const [column, value] of Object.entries(row)) {
      const n = Number(value);
      if (value !== '' && Number.isFinite(n)) sums[column] = (sums[column] ?? 0) + n;
    }
  }
  const summary = { source: `${bucket}/${key}`, rows, sums };
  const target = key.replace(/^csv\//, '').replace(/\.csv$/, '.json');
  await ctx.bucket('reports').put(target, JSON.stringify(summary), { contentType: 'application/json' });
  ctx.log.info(`summarized ${rows} rows of ${key} into reports/${target}`);
  return summary;
}
