/**
 * observe/prune-log: what the pruners (retention.ts) tell, as lines of the platform's log: each
 * pass at debug, the records' size bound at info the first time it deletes. Apart from the pruners
 * so that the input worker, which runs one, loads no config code.
 */
import type { Logger } from 'pino';
import { formatSize } from '../config/config.js';
import { formatDuration } from '../manifest/duration.js';
import type { InputRetention, InputsPruned, PrunerLog, RetentionSettings } from './retention.js';

/** The pruner's passes to the platform's log at debug; the size bound at info, the first time it deletes. */
export function prunerLog(
  log: Pick<Logger, 'debug' | 'info' | 'error'>,
  settings: RetentionSettings,
): PrunerLog {
  const size = formatSize(settings.maxBytes);
  return {
    onError: (e) => log.error({ err: e }, 'pruning invocation records'),
    pruned: (counts) =>
      log.debug(
        counts,
        `pruned ${counts.expired + counts.failedExpired + counts.overSize} invocation records: ` +
          `${counts.expired} ok past ${formatDuration(settings.retentionMs)}, ` +
          `${counts.failedExpired} past ${formatDuration(settings.failedRetentionMs)}, ${counts.overSize} over ${size}`,
      ),
    sizeReached: ({ records, bytes }) =>
      log.info(
        { records, bytes, maxBytes: settings.maxBytes },
        `invocation records reached their size bound, ${size} (about ${formatSize(bytes)} in ${records} records): ` +
          'the oldest are deleted from now on, ok ones first, down to 90% of it (gust up --max-records-size raises it)',
      ),
  };
}

/** The input pruner's passes to the platform's log at debug, as the records' are. */
export function inputsPrunedLog(
  log: Pick<Logger, 'debug'>,
  settings: InputRetention,
): (counts: InputsPruned) => void {
  return (counts) =>
    log.debug(
      counts,
      `pruned ${counts.expired + counts.overSize} inputs kept for replay: ${counts.expired} past ` +
        `${formatDuration(settings.retentionMs)}, ${counts.overSize} over ${formatSize(settings.maxBytes)}`,
    );
}
