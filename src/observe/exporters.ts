/**
 * exporters: what the platform starts beside itself to keep or send what invocations leave: the
 * worker that keeps inputs for replay, and the span exporter. Each is absent when its setting
 * turns it off.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';
import { KeptInputs } from './kept-inputs.js';
import { inputsPrunedLog } from './prune-log.js';
import type { Traces } from './traces.js';

/** The kept inputs' worker; none when none are kept (the file of those kept before is removed). */
export async function keptInputs(config: PlatformConfig, log: Logger): Promise<KeptInputs | undefined> {
  const file = path.join(config.dataDir, 'inputs.db');
  if (config.replayRetentionMs === 0) {
    for (const end of ['', '-wal', '-shm']) await rm(`${file}${end}`, { force: true });
    return undefined;
  }
  const retention = { retentionMs: config.replayRetentionMs, maxBytes: config.replayMaxBytes };
  return KeptInputs.start({
    file,
    maxEventBytes: config.replayMaxEventBytes,
    ...retention,
    onError: (e) => log.error({ err: e }, 'keeping inputs for replay'),
    pruned: inputsPrunedLog(log, retention),
  });
}

/** Loaded only when spans are exported: without GUST_OTLP_URL no OpenTelemetry code runs at all. */
export async function spanExporter(config: PlatformConfig, log: Logger): Promise<Traces | undefined> {
  if (config.otlpUrl === undefined) return undefined;
  return new (await import('./traces.js')).Traces({
    url: config.otlpUrl,
    sample: config.tracesSample,
    warn: (message) => log.warn(message),
    onError: (e) => log.error({ err: e }, 'the trace exporter failed'),
  });
}
