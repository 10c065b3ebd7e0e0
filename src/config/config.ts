/**
 * config: the environment and the CLI flags become one validated Config, here and nowhere else.
 * Nothing outside src/config/ reads process.env (the sandbox has its own, given to it by the host).
 */
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../manifest/duration.js';
import { LAMBDA_PRICES } from '../observe/usage.js';

export type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORT = 8080;
const DEFAULT_S3_PORT = 9000;

/** Digits only: `Number('')` is 0 and `Number('0x50')` is 80, neither of which anybody meant. */
const wholeNumber = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,10}$/)
      .transform(Number),
  ])
  .pipe(z.number().int());
const port = wholeNumber.pipe(z.number().min(0).max(65535));
/** Dollars, a plain decimal: `0.20`, `0.0000166667`. */
const price = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,9}(\.\d{1,15})?$/)
      .transform(Number),
  ])
  .pipe(z.number().min(0));

/** A duration of at least a minute: `7d`, `36h`, `90m`. */
const retention = z
  .union([
    z.number(),
    z.string().transform((t, ctx) => {
      const ms = parseDuration(t);
      if (ms !== undefined) return ms;
      ctx.addIssue({ code: 'custom' });
      return z.NEVER;
    }),
  ])
  .pipe(
    z
      .number()
      .min(60_000)
      .max(3650 * 86_400_000),
  );

/** `0` or `off`: no events are kept for replay; else a duration, as for records. */
const replayRetention = z.union([z.enum(['0', 'off']).transform(() => 0), retention]);

const SIZE_UNITS: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };
/** A size: `500MB`, `1GB`, `1.5GB` (powers of 1024). */
const sizeText = z.union([
  z.number(),
  z.string().transform((t, ctx) => {
    const m = /^(\d+(?:\.\d+)?)\s*(kb|mb|gb|tb)$/i.exec(t.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom' });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  }),
]);
const size = sizeText.pipe(z.number().min(1024 ** 2));

const PlatformSchema = z.object({
  host: z.string().min(1),
  port,
  s3Port: port,
  dataDir: z.string().min(1),
  deployDir: z.string().optional(),
  cluster: z.boolean(),
  clusterName: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'a lower-case name of letters, digits and _'),
  postgresUrl: z.string().optional(),
  natsUrl: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** Idle pre-started processes kept per memory size. */
  stemCells: wholeNumber.pipe(z.number().max(16)),
  /** When Gust runs as root, each instance runs as its own uid/gid from this one on (a range of 100000). */
  sandboxUid: wholeNumber.pipe(z.number().min(1000).max(4_000_000_000)),
  maxBodyBytes: z.number().int().min(1),
  /** The most events one function's queue holds; past it, accepting more answers 429. */
  queueDepth: wholeNumber.pipe(z.number().min(1).max(100_000_000)),
  /** The price plan `gust usage` costs with (default: AWS Lambda's list prices). */
  pricePerMillionRequests: price,
  pricePerGbSecond: price,
  pricePerWarmGbSecond: price,
  /** How long records of invocations that ended ok are kept; failed ones for failedRetentionMs. */
  retentionMs: retention,
  failedRetentionMs: retention,
  /** About how much room records (and their logs) may take; the oldest go past it. */
  maxRecordsBytes: size,
  /** How long what invocations got (events, requests) is kept for replay; 0: nothing is kept. */
  replayRetentionMs: replayRetention,
  /** About how much room the kept events may take; the oldest go past it. */
  replayMaxBytes: size,
  /** An event bigger than this is not kept, only its size (up to the request body limit). */
  replayMaxEventBytes: sizeText.pipe(
    z
      .number()
      .min(1024)
      .max(6 * 1024 ** 2),
  ),
  /** Versions kept per function; past it the oldest (neither active nor the one before) are removed. */
  keepVersions: wholeNumber.pipe(z.number().min(2).max(1_000_000)),
  /** `/_gust/metrics` and the counting behind it; off only to measure what they cost. */
  metrics: z.union([z.boolean(), z.enum(['on', 'off']).transform((v) => v === 'on')]),
  /** The share of traces whose spans are exported (decided by the trace id: a trace is whole or absent). */
  tracesSample: price.pipe(z.number().max(1)),
  /** Where spans go over OTLP/HTTP (an OpenTelemetry collector); absent: no spans are made. */
  otlpUrl: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+[^\s?#]*$/)
    .optional(),
});

export type PlatformConfig = z.infer<typeof PlatformSchema>;

export interface UpFlags {
  readonly dir?: string | undefined;
  readonly port?: string | number | undefined;
  readonly s3Port?: string | number | undefined;
  readonly data?: string | undefined;
  readonly cluster?: boolean | undefined;
  readonly retention?: string | undefined;
  readonly failedRetention?: string | undefined;
  readonly maxRecordsSize?: string | undefined;
  readonly replayRetention?: string | undefined;
  readonly replayMaxSize?: string | undefined;
  readonly keepVersions?: string | undefined;
  /** false: `--no-metrics`. */
  readonly metrics?: boolean | undefined;
  /** The log level when GUST_LOG_LEVEL does not say (`gust dev`: warn; else info). */
  readonly defaultLogLevel?: string | undefined;
}

/** Flags win over the environment, which wins over the defaults. */
export function loadPlatformConfig(flags: UpFlags, env: Env, cwd: string): PlatformConfig {
  const parsed = PlatformSchema.safeParse({
    host: env.GUST_HOST ?? '127.0.0.1',
    port: flags.port ?? env.GUST_PORT ?? DEFAULT_PORT,
    s3Port: flags.s3Port ?? env.GUST_S3_PORT ?? DEFAULT_S3_PORT,
    dataDir: path.resolve(cwd, flags.data ?? env.GUST_DATA_DIR ?? '.gust'),
    deployDir: flags.dir === undefined ? undefined : path.resolve(cwd, flags.dir),
    cluster: flags.cluster ?? false,
    clusterName: env.GUST_CLUSTER_NAME ?? 'gust',
    postgresUrl: env.GUST_POSTGRES_URL,
    natsUrl: env.GUST_NATS_URL,
    logLevel: env.GUST_LOG_LEVEL ?? flags.defaultLogLevel ?? 'info',
    stemCells: env.GUST_STEM_CELLS ?? 2,
    sandboxUid: env.GUST_SANDBOX_UID ?? 200_000,
    maxBodyBytes: 6 * 1024 * 1024,
    queueDepth: env.GUST_QUEUE_DEPTH ?? 100_000,
    pricePerMillionRequests: env.GUST_PRICE_PER_MILLION_REQUESTS ?? LAMBDA_PRICES.perMillionRequests,
    pricePerGbSecond: env.GUST_PRICE_PER_GB_SECOND ?? LAMBDA_PRICES.perGbSecond,
    pricePerWarmGbSecond: env.GUST_PRICE_PER_WARM_GB_SECOND ?? LAMBDA_PRICES.perWarmGbSecond,
    retentionMs: flags.retention ?? env.GUST_RETENTION ?? '7d',
    failedRetentionMs: flags.failedRetention ?? env.GUST_FAILED_RETENTION ?? '30d',
    maxRecordsBytes: flags.maxRecordsSize ?? env.GUST_MAX_RECORDS_SIZE ?? '1GB',
    replayRetentionMs: flags.replayRetention ?? env.GUST_REPLAY_RETENTION ?? '24h',
    replayMaxBytes: flags.replayMaxSize ?? env.GUST_REPLAY_MAX_SIZE ?? '256MB',
    replayMaxEventBytes: env.GUST_REPLAY_MAX_EVENT_SIZE ?? '256KB',
    keepVersions: flags.keepVersions ?? env.GUST_KEEP_VERSIONS ?? 50,
    metrics: flags.metrics ?? env.GUST_METRICS ?? 'on',
    tracesSample: env.GUST_TRACES_SAMPLE ?? 1,
    otlpUrl: env.GUST_OTLP_URL || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '') as keyof PlatformConfig;
    throw new ConfigError(
      `${settingName(field, flags, env)}: ${EXPECTED[field] ?? issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

const PORT = 'a port is a whole number from 0 to 65535 (0: any free port)';
/** What each setting must be, said the way a person fixing it needs to read it. */
const EXPECTED: Partial<Record<keyof PlatformConfig, string>> = {
  port: PORT,
  s3Port: PORT,
  stemCells: 'a whole number from 0 to 16',
  sandboxUid: 'a whole number from 1000 to 4000000000',
  logLevel: 'one of fatal, error, warn, info, debug, trace, silent',
  clusterName: 'a lower-case name of letters, digits and _, starting with a letter',
  queueDepth: 'a whole number from 1 to 100000000',
  pricePerMillionRequests: 'dollars as a plain decimal, like 0.20',
  pricePerGbSecond: 'dollars as a plain decimal, like 0.0000166667',
  pricePerWarmGbSecond: 'dollars as a plain decimal, like 0.0000041667',
  retentionMs: 'a duration from 1m to 3650d, like 7d or 36h',
  failedRetentionMs: 'a duration from 1m to 3650d, like 30d',
  maxRecordsBytes: 'a size of at least 1MB, like 500MB or 2GB',
  replayRetentionMs: 'a duration from 1m to 3650d, like 24h, or 0 (or off) to keep no events for replay',
  replayMaxBytes: 'a size of at least 1MB, like 256MB or 1GB',
  replayMaxEventBytes: 'a size from 1KB to 6MB, like 256KB',
  keepVersions: 'a whole number of versions per function, at least 2 (the active one and the one before)',
  metrics: 'on or off',
  tracesSample: 'a share from 0 to 1 as a plain decimal, like 0.1 (a trace in ten)',
  otlpUrl: 'an http:// or https:// URL of an OTLP/HTTP collector, like http://127.0.0.1:4318',
};

/** Where a setting came from: `--port abc` when the flag gave it, else `GUST_PORT=abc`. */
const SOURCES: Partial<Record<keyof PlatformConfig, { flag?: keyof UpFlags; option?: string; env: string }>> =
  {
    host: { env: 'GUST_HOST' },
    port: { flag: 'port', option: '--port', env: 'GUST_PORT' },
    s3Port: { flag: 's3Port', option: '--s3-port', env: 'GUST_S3_PORT' },
    dataDir: { flag: 'data', option: '--data', env: 'GUST_DATA_DIR' },
    clusterName: { env: 'GUST_CLUSTER_NAME' },
    logLevel: { env: 'GUST_LOG_LEVEL' },
    stemCells: { env: 'GUST_STEM_CELLS' },
    sandboxUid: { env: 'GUST_SANDBOX_UID' },
    queueDepth: { env: 'GUST_QUEUE_DEPTH' },
    pricePerMillionRequests: { env: 'GUST_PRICE_PER_MILLION_REQUESTS' },
    pricePerGbSecond: { env: 'GUST_PRICE_PER_GB_SECOND' },
    pricePerWarmGbSecond: { env: 'GUST_PRICE_PER_WARM_GB_SECOND' },
    retentionMs: { flag: 'retention', option: '--retention', env: 'GUST_RETENTION' },
    failedRetentionMs: {
      flag: 'failedRetention',
      option: '--failed-retention',
      env: 'GUST_FAILED_RETENTION',
    },
    maxRecordsBytes: { flag: 'maxRecordsSize', option: '--max-records-size', env: 'GUST_MAX_RECORDS_SIZE' },
    replayRetentionMs: {
      flag: 'replayRetention',
      option: '--replay-retention',
      env: 'GUST_REPLAY_RETENTION',
    },
    replayMaxBytes: { flag: 'replayMaxSize', option: '--replay-max-size', env: 'GUST_REPLAY_MAX_SIZE' },
    replayMaxEventBytes: { env: 'GUST_REPLAY_MAX_EVENT_SIZE' },
    keepVersions: { flag: 'keepVersions', option: '--keep-versions', env: 'GUST_KEEP_VERSIONS' },
    metrics: { flag: 'metrics', option: '--no-metrics', env: 'GUST_METRICS' },
    tracesSample: { env: 'GUST_TRACES_SAMPLE' },
    otlpUrl: { env: 'GUST_OTLP_URL' },
  };

function settingName(field: keyof PlatformConfig, flags: UpFlags, env: Env): string {
  const source = SOURCES[field];
  if (source === undefined) return field;
  const given = source.flag === undefined ? undefined : flags[source.flag];
  if (given !== undefined) return `${source.option} ${JSON.stringify(String(given))}`;
  return `${source.env}=${JSON.stringify(env[source.env] ?? '')}`;
}

/** Settings a restart is given again, besides --data and the ports: what it keeps, exports, costs. */
const KEPT_AT_RESTART: readonly (keyof PlatformConfig)[] = [
  'host',
  'retentionMs',
  'failedRetentionMs',
  'maxRecordsBytes',
  'replayRetentionMs',
  'replayMaxBytes',
  'replayMaxEventBytes',
  'keepVersions',
  'metrics',
  'tracesSample',
  'otlpUrl',
  'queueDepth',
  'pricePerMillionRequests',
  'pricePerGbSecond',
  'pricePerWarmGbSecond',
];

/**
 * The command that starts this platform again as it was started: its data folder, its ports as
 * bound (`--port 0` got one: the record points at it), the settings of KEPT_AT_RESTART given by a
 * flag or a GUST_* variable, as flags where `gust up` has one, else as variables before it.
 */
export function upCommand(
  flags: UpFlags,
  env: Env,
  at: { readonly dataDir: string; readonly port: number; readonly s3Port: number },
): string {
  const vars: string[] = [];
  const args = ['gust up', '--data', shellWord(at.dataDir)];
  if (at.port !== DEFAULT_PORT) args.push('--port', String(at.port));
  if (at.s3Port !== DEFAULT_S3_PORT) args.push('--s3-port', String(at.s3Port));
  for (const field of KEPT_AT_RESTART) {
    const source = SOURCES[field]!;
    const given = source.flag === undefined ? undefined : flags[source.flag];
    const raw = given ?? (env[source.env] || undefined);
    if (raw === undefined) continue;
    if (field === 'metrics') {
      if (raw === false || raw === 'off') args.push('--no-metrics');
    } else if (source.option !== undefined) args.push(source.option, shellWord(String(raw)));
    else vars.push(`${source.env}=${shellWord(String(raw))}`);
  }
  return [...vars, ...args].join(' ');
}

/** A word a shell reads back as it is: quoted when it holds anything but the plainest characters. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** `1GB`, `512MB`, `1.5GB`: a size as `--max-records-size` takes it. */
export function formatSize(bytes: number): string {
  for (const unit of ['tb', 'gb', 'mb', 'kb'] as const) {
    const n = bytes / SIZE_UNITS[unit]!;
    if (n >= 1) return `${Number(n.toFixed(2))}${unit.toUpperCase()}`;
  }
  return `${bytes}B`;
}

/** GUST_PORT, checked as `gust up` checks it: the CLI's default URL is built from it. */
export function envPort(env: Env): number | undefined {
  const raw = env.GUST_PORT;
  if (raw === undefined || raw === '') return undefined;
  const parsed = port.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`GUST_PORT=${JSON.stringify(raw)}: ${PORT}`);
  return parsed.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The process's environment: read here, and handed to whoever needs it, nowhere else. */
export function processEnv(): Env {
  return process.env;
}
