/**
 * platform: the platform `gust dev` deploys to. GUST_URL names one: attach to it. Else the data
 * folder `gust up` would use (--data, GUST_DATA_DIR, ./.gust): a Gust already running on it is
 * attached to (its URL as it was recorded). Else a Gust answering on the port dev would listen on
 * (another data folder's, say `npm start`'s) is attached to when its key can be found as the CLI
 * finds one (GUST_API_KEY, the config file), refused with how to attach when not. None, and one is
 * started in this process, as `gust up` starts it. Ctrl-C stops only what dev started: an attached
 * platform keeps running. A platform dev starts is recorded as the local one only when the one
 * recorded before is not running: `gust` commands in other shells keep going to that one.
 */
import path from 'node:path';
import { type ClientKey, explicitUrl } from '../../config/client.js';
import { readUserConfig, savedFor, userConfigFile } from '../../config/user.js';
import { runningOn } from '../../data-folder.js';
import type { Platform } from '../../platform.js';
import type { FunctionSummary } from '../api.js';
import { GustClient } from '../client.js';
import { launch, platformConfig, readyText, record, type UpFlags } from '../commands/up.js';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';

export interface DevPlatform {
  readonly client: GustClient;
  /** Its data folder when known: never watched, even inside the project. */
  readonly dataDir: string | undefined;
  /**
   * Says which: `started Gust on URL…` (with `gust up`'s lines, after recording it as `gust up`
   * does) or `attached to Gust at URL…`. Called once Ctrl-C is handled.
   */
  announce(): Promise<void>;
  /** What Ctrl-C says it does, and then does (closes the platform dev started; nothing else). */
  readonly stopping: string;
  /** Whether stopping takes a while (a second Ctrl-C then forces it). */
  readonly slowStop: boolean;
  stop(): Promise<void>;
}

/** The flags of a platform dev starts: ignored, and said so, when it attaches. */
const START_FLAGS: readonly (readonly [keyof UpFlags, string])[] = [
  ['port', '--port'],
  ['s3Port', '--s3-port'],
  ['retention', '--retention'],
  ['failedRetention', '--failed-retention'],
  ['maxRecordsSize', '--max-records-size'],
  ['replayRetention', '--replay-retention'],
  ['replayMaxSize', '--replay-max-size'],
  ['keepVersions', '--keep-versions'],
];

export async function startOrAttach(cli: Cli, flags: UpFlags): Promise<DevPlatform> {
  const attach = async (client: GustClient, said: string, dataDir?: string): Promise<DevPlatform> => {
    // fails with the CLI's own words: unreachable, not Gust, a refused key
    await client.get<{ functions: FunctionSummary[] }>('/functions');
    const ignored = START_FLAGS.filter(([flag]) => flags[flag] !== undefined).map(([, name]) => name);
    if (flags.metrics === false) ignored.push('--no-metrics');
    return {
      client,
      dataDir,
      announce: async () => {
        cli.err(`${said}; it keeps running when gust dev stops`);
        if (ignored.length > 0) {
          cli.err(
            `ignored: ${ignored.join(', ')} (for a platform gust dev starts; this one runs with its own settings)`,
          );
        }
      },
      stopping: `gust dev stopped; Gust at ${client.url} keeps running`,
      slowStop: false,
      stop: async () => {},
    };
  };
  const url = explicitUrl(cli.env);
  if (url !== undefined) {
    // --data names the platform's folder, hence its admin key (unless GUST_API_KEY gives one)
    const keyFile =
      flags.data === undefined || cli.env.GUST_API_KEY
        ? undefined
        : path.resolve(cli.cwd, flags.data, 'admin.key');
    const client =
      keyFile === undefined
        ? cli.client()
        : new GustClient({ url, urlFrom: 'env', key: { from: 'file', path: keyFile }, local: undefined });
    return attach(client, `attached to Gust at ${client.url} (GUST_URL)`);
  }

  const config = platformConfig(cli, undefined, flags, 'warn');
  const { dataDir } = config;
  const saved = readUserConfig(userConfigFile(cli.env));
  const pid = await runningOn(dataDir);
  if (pid !== undefined) {
    const local = saved.local;
    if (local?.dataDir !== dataDir) {
      throw new CliError(
        `a Gust (pid ${pid}) is running on ${dataDir}, but its URL was not recorded: set GUST_URL to it to attach, or pass another --data to start one`,
      );
    }
    const keyFile = { from: 'file', path: local.keyFile } as const;
    const client = new GustClient({ url: local.url, urlFrom: 'local', key: keyFile, local });
    return attach(client, `attached to Gust at ${local.url} (pid ${pid}, data in ${dataDir})`, dataDir);
  }

  // a platform listening on every address answers on this machine's own
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const onPort = config.port === 0 ? undefined : `http://${host}:${config.port}`;
  if (onPort !== undefined && (await answersAsGust(onPort))) {
    const known = savedFor(saved, onPort);
    const envKey = cli.env.GUST_API_KEY;
    const key: ClientKey | undefined = envKey
      ? { from: 'env', key: envKey }
      : known?.from === 'local'
        ? { from: 'file', path: known.local.keyFile }
        : known?.from === 'login'
          ? { from: 'login', key: known.key }
          : undefined;
    if (key === undefined) {
      throw new CliError(
        `a Gust already runs on port ${config.port} (${onPort}), with another data folder than ${dataDir}: attach to it with --data ITS_DATA_FOLDER, or GUST_URL=${onPort} GUST_API_KEY=KEY; or start another with --port`,
      );
    }
    const local = known?.from === 'local' ? known.local : undefined;
    const client = new GustClient({ url: onPort, urlFrom: local ? 'local' : 'env', key, local });
    const where = local === undefined ? '' : ` (data in ${local.dataDir})`;
    return attach(
      client,
      `attached to Gust at ${onPort}${where}, which answers on port ${config.port}`,
      local?.dataDir,
    );
  }

  const platform = await launch(cli, config);
  const client = new GustClient({
    url: platform.url,
    urlFrom: 'local',
    key: { from: 'file', path: platform.adminKeyPath },
    local: { url: platform.url, keyFile: platform.adminKeyPath, dataDir: platform.dataDir },
  });
  return {
    client,
    dataDir: platform.dataDir,
    announce: async () => {
      await recordUnlessAnotherRuns(cli, platform, flags);
      cli.out(readyText(platform, undefined, config));
      cli.err(`started Gust on ${platform.url} for gust dev; Ctrl-C stops it`);
    },
    stopping: 'stopping Gust…',
    slowStop: true,
    stop: () => platform.close(),
  };
}

/** Whether a Gust answers its health check at `url` (nothing listening, or something else: no). */
async function answersAsGust(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_gust/healthz`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { status?: unknown };
    return res.ok && body.status === 'ok';
  } catch {
    return false;
  }
}

/**
 * The local platform recorded is still running (`gust up` in another shell): it stays the one
 * `gust` commands use, and this one is not recorded (it stops with dev; recording it would leave
 * the CLI pointing at a stopped platform while the other still runs).
 */
async function recordUnlessAnotherRuns(cli: Cli, platform: Platform, flags: UpFlags): Promise<void> {
  const before = readUserConfig(userConfigFile(cli.env)).local;
  const other =
    before !== undefined && before.dataDir !== platform.dataDir ? await runningOn(before.dataDir) : undefined;
  if (before === undefined || other === undefined) return record(cli, platform, flags);
  cli.err(
    `not recorded as the local platform: gust commands keep going to the Gust at ${before.url} (pid ${other}); reach this one with GUST_URL=${platform.url} GUST_DATA_DIR=${platform.dataDir}`,
  );
}
