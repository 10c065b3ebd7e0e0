/** trigger-label: one short line per trigger, as `gust ls` and the dashboard show it. */
import type { Trigger } from '../manifest/types.js';

export function triggerLabel(t: Trigger): string {
  switch (t.type) {
    case 'http':
      return `http ${t.methods.length ? t.methods.join(',') : 'ANY'} ${t.path}`;
    case 'webhook':
      return `webhook POST ${t.path} (${t.verify})`;
    case 'schedule':
      return `schedule ${t.cron}${t.timezone === 'UTC' ? '' : ` (${t.timezone})`}`;
    case 'topic':
      return `topic ${t.name}${t.batch > 1 ? ` (batch ${t.batch})` : ''}`;
    case 'kv':
      return `kv ${t.namespace} on ${t.on.join(',')}`;
    case 'bucket':
      return `bucket ${t.name} on ${t.on.join(',')}${t.prefix ? ` prefix ${t.prefix}` : ''}${t.suffix ? ` suffix ${t.suffix}` : ''}`;
    case 'stream':
      return `stream ${t.from} ${t.subject}${t.batch > 1 ? ` (batch ${t.batch})` : ''}`;
    case 'postgres':
      return `postgres ${t.schema}.${t.table} on ${t.on.join(',')}`;
  }
}
