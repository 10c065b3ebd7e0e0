/**
 * up: start the platform in this process and deploy DIR/gust.yaml if there is one. It records
 * itself in the CLI's config file as the local platform, and the one in use, so that `gust`
 * finds it from any folder. The record stays when it stops: commands then say it has stopped and
 * how to start it again, rather than quietly turning to another platform.
 */
import type { Command } from 'commander';
import {
  ConfigError,
  type UpFlags as ConfigFlags,
  formatSize,
  loadPlatformConfig,
  type PlatformConfig,
  upCommand,
} from '../../config/config.js';
import { recordLocalPlatform, userConfigFile } from '../../config/user.js';
import { isGustError } from '../../errors.js';
import { formatDuration } from '../../manifest/duration.js';
import { readManifest } from '../../manifest/load.js';
import type { Platform } from '../../platform.js';
import type { Cli } from '../context.js';
import { CliError, EXIT, usageError } from '../fail.js';
import { createLogger } from '../logger.js';
import { emit } from '../output.js';
import { bundlingProgress } from '../progress.js';
import { bundleFailure, deployText, type ProjectChoice, projectChoice } from './deploy.js';

export interface UpFlags {
  readonly port?: string;
  readonly s3Port?: string;
  readonly data?: string;
  readonly cluster?: boolean;
  /** false with --no-metrics (commander's default for a --no- option is true). */
  readonly metrics: boolean;
  readonly json?: boolean;
  readonly retention?: string;
  readonly failedRetention?: string;
  readonly maxRecordsSize?: string;
  readonly replayRetention?: string;
  readonly replayMaxSize?: string;
  readonly keepVersions?: string;
}

export function registerUpCommand(program: Command, cli: Cli): void {
  platformOptions(
    program
      .command('up')
      .description('start Gust; deploy DIR/gust.yaml if any')
      .argument('[dir]', 'folder holding gust.yaml to deploy at start'),
  )
    .option('--cluster', 'cluster mode on NATS and PostgreSQL')
    .option('--json', 'print where it listens as one JSON line')
    .action(async (dir: string | undefined, flags: UpFlags) => {
      const config = platformConfig(cli, dir, flags);
      if (config.cluster) {
        throw new CliError(
          'cluster mode is not supported yet by this version of Gust (run without --cluster)',
        );
      }
      const platform = await launch(cli, config);
      const ready = {
        url: platform.url,
        s3Url: platform.s3Url,
        dataDir: platform.dataDir,
        adminKeyPath: platform.adminKeyPath,
        deployed: platform.deployed,
      };
      // Before saying it is ready: whoever reads that line may stop it at once, or call it.
      stopOnSignal(cli, 'stopping Gust…', () => platform.close());
      await record(cli, platform, flags);
      const project = platform.deployed === undefined ? undefined : await deployedProject(config);
      emit(cli, flags, { ...ready, settings: settingsOf(config) }, () =>
        readyText(platform, project, config),
      );
    });
}

/** The options of a platform this process runs: `gust up`'s, and `gust dev`'s when it starts one. */
export function platformOptions(command: Command): Command {
  return command
    .option('--port <port>', 'HTTP port, 0 for any free one (default 8080, or GUST_PORT)')
    .option('--s3-port <port>', 'S3 API port (default 9000, or GUST_S3_PORT)')
    .option('--data <dir>', 'data folder (default .gust, or GUST_DATA_DIR)')
    .option(
      '--retention <duration>',
      'keep records of ok invocations this long (default 7d, or GUST_RETENTION)',
    )
    .option(
      '--failed-retention <duration>',
      'keep records of failed invocations this long (default 30d, or GUST_FAILED_RETENTION)',
    )
    .option(
      '--max-records-size <size>',
      'about how much room records and their logs may take (default 1GB, or GUST_MAX_RECORDS_SIZE)',
    )
    .option(
      '--replay-retention <duration>',
      'keep what invocations got, for gust replay, this long; 0 keeps nothing (default 24h, or GUST_REPLAY_RETENTION)',
    )
    .option(
      '--replay-max-size <size>',
      'about how much room the events kept for replay may take (default 256MB, or GUST_REPLAY_MAX_SIZE)',
    )
    .option(
      '--keep-versions <n>',
      'versions kept per function, with their bundles; older ones are removed (default 50, or GUST_KEEP_VERSIONS)',
    )
    .option('--no-metrics', 'no /_gust/metrics and no counting for it (or GUST_METRICS=off)');
}

/**
 * Starts the platform in this process, its log on stderr; bundling the deploy folder shows its
 * progress on a terminal. Port in use, a bad manifest in DIR...: one CliError.
 */
export async function launch(cli: Cli, config: PlatformConfig): Promise<Platform> {
  const log = createLogger(config.logLevel, process.stderr);
  // loaded here so that every other command starts without the platform's dependencies
  const { startPlatform } = await import('../../platform.js');
  const progress = cli.progress();
  return startPlatform(config, log, { onBundled: bundlingProgress(progress) })
    .catch((e: unknown) => {
      throw startupError(e);
    })
    .finally(() => progress.done());
}

/** `defaultLogLevel`: the platform's log level unless GUST_LOG_LEVEL says (`gust dev`: warn). */
export function platformConfig(
  cli: Cli,
  dir: string | undefined,
  flags: UpFlags,
  defaultLogLevel?: PlatformConfig['logLevel'],
): PlatformConfig {
  try {
    return loadPlatformConfig({ ...configFlags(flags), dir, defaultLogLevel }, cli.env, cli.cwd);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw usageError(e.message);
  }
}

/** The command line's flags as the config reads them. */
function configFlags(flags: UpFlags): ConfigFlags {
  const { port, s3Port, data, cluster, retention, failedRetention, maxRecordsSize } = flags;
  const { replayRetention, replayMaxSize, keepVersions } = flags;
  const metrics = flags.metrics ? undefined : false; // GUST_METRICS decides unless the flag is given
  return {
    port,
    s3Port,
    data,
    cluster,
    retention,
    failedRetention,
    maxRecordsSize,
    replayRetention,
    replayMaxSize,
    keepVersions,
    metrics,
  };
}

/** What is kept and exported, for the ready line and `--json`: the settings in effect. */
function settingsOf(config: PlatformConfig) {
  return {
    retention: formatDuration(config.retentionMs),
    failedRetention: formatDuration(config.failedRetentionMs),
    maxRecordsSize: formatSize(config.maxRecordsBytes),
    replayRetention: config.replayRetentionMs === 0 ? null : formatDuration(config.replayRetentionMs),
    replayMaxSize: formatSize(config.replayMaxBytes),
    metrics: config.metrics,
    otlpUrl: config.otlpUrl ?? null,
    keepVersions: config.keepVersions,
  };
}

/**
 * Into the config file, with the command that starts it again as it was started (said when it has
 * stopped); a failure to write it is said, but does not stop a running platform.
 */
export async function record(cli: Cli, platform: Platform, flags: UpFlags): Promise<void> {
  const file = userConfigFile(cli.env);
  const portOf = (url: string) => {
    const { port, protocol } = new URL(url);
    return port === '' ? (protocol === 'https:' ? 443 : 80) : Number(port);
  };
  const restart = upCommand(configFlags(flags), cli.env, {
    dataDir: platform.dataDir,
    port: portOf(platform.url),
    s3Port: portOf(platform.s3Url),
  });
  const local = { url: platform.url, keyFile: platform.adminKeyPath, dataDir: platform.dataDir, restart };
  try {
    const before = await recordLocalPlatform(file, local);
    if (before?.from === 'login') {
      cli.err(
        `gust commands now use this platform, not ${before.url} (gust login): \`gust login ${before.url}\` goes back`,
      );
    }
  } catch (e) {
    cli.err(
      `gust: could not record this platform in ${file} (${e instanceof Error ? e.message : String(e)}): other folders reach it only with GUST_URL=${platform.url} and GUST_DATA_DIR=${platform.dataDir}`,
    );
  }
}

export function readyText(
  platform: Platform,
  project: ProjectChoice | undefined,
  config: PlatformConfig,
): string {
  const s = settingsOf(config);
  const lines = [
    `Gust is listening on ${platform.url} (embedded mode, data in ${platform.dataDir})`,
    `Admin key: ${platform.adminKeyPath}`,
    `S3 API on ${platform.s3Url} (sign with a key pair from gust keys create --scope storage --json)`,
    `Records kept ${s.retention} (failed ones ${s.failedRetention}), at most about ${s.maxRecordsSize}; ` +
      (s.replayRetention === null
        ? 'no events kept for replay; '
        : `events for replay ${s.replayRetention}, at most about ${s.replayMaxSize}; `) +
      `metrics ${s.metrics ? 'at /_gust/metrics' : 'off'}; ` +
      `spans ${s.otlpUrl === null ? 'not exported (set GUST_OTLP_URL)' : `exported to ${s.otlpUrl}`}; ` +
      `the last ${s.keepVersions} versions of each function kept`,
  ];
  if (platform.deployed !== undefined) lines.push(deployText(platform.deployed, project));
  return lines.join('\n');
}

/**
 * Where the project of DIR got its name, as `gust deploy` says it. The platform has deployed it
 * already: a gust.yaml that changed since only loses the note, never stops a running platform.
 */
async function deployedProject(config: PlatformConfig): Promise<ProjectChoice | undefined> {
  if (config.deployDir === undefined) return undefined;
  const read = await readManifest(config.deployDir).catch(() => undefined);
  return read?.ok === true ? projectChoice(read.manifest, config.deployDir) : undefined;
}

/**
 * The first SIGINT/SIGTERM says `what` (`stopping Gust…`) and stops; a second one exits at once
 * (said only when stopping takes a while: `slow`).
 */
export function stopOnSignal(cli: Cli, what: string, stop: () => Promise<void>, slow = true): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(EXIT.failure);
    stopping = true;
    cli.err(`${signal}: ${what}${slow ? ' (again to force)' : ''}`);
    stop().then(
      () => process.exit(EXIT.ok),
      (e: unknown) => {
        cli.err(`gust: stopping failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(EXIT.failure);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Port in use, a bad manifest in DIR, an unwritable data folder: one line, exit 1. */
function startupError(e: unknown): CliError {
  const error = e as NodeJS.ErrnoException & { port?: number };
  if (error.code === 'EADDRINUSE') {
    const port = error.port === undefined ? 'a port' : `port ${error.port}`;
    return new CliError(`${port} is in use (stop what holds it, or choose another with --port / --s3-port)`);
  }
  if (error.code === 'EACCES' && error.syscall === 'listen') {
    return new CliError(
      `not allowed to listen on port ${error.port ?? '?'} (choose one above 1023 with --port)`,
    );
  }
  if (isGustError(e)) {
    // the platform puts several lines (every manifest or bundling error) in the message
    const [first = e.code, ...rest] = e.message.split('\n');
    const lines = [...rest, ...(e.details ?? [])].map((l) => l.trim());
    if (e.code === 'BUILD_FAILED') return bundleFailure([first, ...lines]);
    return new CliError(first, { code: e.code, details: lines });
  }
  return new CliError(`could not start: ${error.message ?? String(e)}`);
}
