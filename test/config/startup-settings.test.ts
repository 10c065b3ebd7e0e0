/**
 * What `gust up` says of its settings: the ready line tells what is kept, counted and exported, and
 * the command it records starts it again the same way (flags where `gust up` has them, else
 * variables), quoted for a shell.
 */
import { describe, expect, it } from 'vitest';
import { readyText } from '../../src/cli/commands/up.js';
import { loadPlatformConfig, upCommand } from '../../src/config/config.js';
import type { Platform } from '../../src/platform.js';

const platform = {
  url: 'http://127.0.0.1:8080',
  s3Url: 'http://127.0.0.1:9000',
  dataDir: '/srv/gust',
  adminKeyPath: '/srv/gust/admin.key',
  deployed: undefined,
} as unknown as Platform;

describe('the ready line of the settings', () => {
  it('tells the retention, failed retention, size bound, metrics, spans and kept versions in effect', () => {
    const defaults = loadPlatformConfig({}, {}, '/tmp');
    expect(readyText(platform, undefined, defaults).split('\n')[3]).toBe(
      'Records kept 7d (failed ones 30d), at most about 1GB; events for replay 1d, at most about 256MB; metrics at /_gust/metrics; spans not exported (set GUST_OTLP_URL); the last 50 versions of each function kept',
    );
    const mine = loadPlatformConfig(
      {
        retention: '36h',
        failedRetention: '90d',
        maxRecordsSize: '1.5GB',
        replayRetention: '0',
        metrics: false,
        keepVersions: '5',
      },
      { GUST_OTLP_URL: 'http://127.0.0.1:4318' },
      '/tmp',
    );
    expect(readyText(platform, undefined, mine).split('\n')[3]).toBe(
      'Records kept 36h (failed ones 90d), at most about 1.5GB; no events kept for replay; metrics off; spans exported to http://127.0.0.1:4318; the last 5 versions of each function kept',
    );
  });
});

describe('the command that starts it again', () => {
  const at = { dataDir: '/srv/gust', port: 8080, s3Port: 9000 };

  it('is gust up --data alone for the defaults, and names ports other than 8080 and 9000', () => {
    expect(upCommand({}, { GUST_LOG_LEVEL: 'debug', GUST_STEM_CELLS: '1' }, at)).toBe(
      'gust up --data /srv/gust',
    );
    expect(upCommand({}, {}, { ...at, port: 18080, s3Port: 19000 })).toBe(
      'gust up --data /srv/gust --port 18080 --s3-port 19000',
    );
  });

  it('gives again every setting given, flags before variables, a flag winning over its variable', () => {
    const env = {
      GUST_RETENTION: '1d',
      GUST_MAX_RECORDS_SIZE: '2GB',
      GUST_METRICS: 'off',
      GUST_OTLP_URL: 'http://otel:4318',
      GUST_HOST: '0.0.0.0',
      GUST_PRICE_PER_GB_SECOND: '0.5',
    };
    expect(
      upCommand({ retention: '2d', failedRetention: '60d' }, env, { ...at, dataDir: "/my data/it's" }),
    ).toBe(
      "GUST_HOST=0.0.0.0 GUST_OTLP_URL=http://otel:4318 GUST_PRICE_PER_GB_SECOND=0.5 gust up --data '/my data/it'\\''s' " +
        '--retention 2d --failed-retention 60d --max-records-size 2GB --no-metrics',
    );
    expect(upCommand({ metrics: false }, {}, at)).toBe('gust up --data /srv/gust --no-metrics');
    expect(upCommand({ replayRetention: '0' }, { GUST_REPLAY_MAX_EVENT_SIZE: '1MB' }, at)).toBe(
      'GUST_REPLAY_MAX_EVENT_SIZE=1MB gust up --data /srv/gust --replay-retention 0',
    );
    expect(upCommand({}, { GUST_METRICS: 'on' }, at)).toBe('gust up --data /srv/gust');
  });
});
