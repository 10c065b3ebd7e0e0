/**
 * platform: the platform `gust dev` deploys to. GUST_URL names one: attach to it. Else the data
 * folder `gust up` would use (--data, GUST_DATA_DIR, ./.gust): a Gust already running on it is
 * attached to (its URL as `gust up` recorded it); none, and one is started in this process, as
 * `gust up` starts it. Ctrl-C stops only what dev started: an attached platform keeps running.
 */
import { explicitUrl } from '../../config/client.js';
import { readUserConfig, userConfigFile } from '../../config/user.js';
import { runningOn } from '../../data-folder.js';
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
  stop(): Promise<void>;
}

export async function startOrAttach(cli: Cli, flags: UpFlags): Promise<DevPlatform> {
  const attach = async (client: GustClient, said: string, dataDir?: string): Promise<DevPlatform> => {
    // fails with the CLI's own words: unreachable, not Gust, a refused key
    await client.get<{ functions: FunctionSummary[] }>('/functions');
    return {
      client,
      dataDir,
      announce: async () => cli.err(`${said}; it keeps running when gust dev stops`),
      stopping: `gust dev stopped; Gust at ${client.url} keeps running`,
      stop: async () => {},
    };
  };
  const url = explicitUrl(cli.env);
  if (url !== undefined) return attach(cli.client(), `attached to Gust at ${url} (GUST_URL)`);

  const config = platformConfig(cli, undefined, flags, 'warn');
  const { dataDir } = config;
  const pid = await runningOn(dataDir);
  if (pid !== undefined) {
    const local = readUserConfig(userConfigFile(cli.env)).local;
    if (local?.dataDir !== dataDir) {
      throw new CliError(
        `a Gust (pid ${pid}) is running on ${dataDir}, but gust up did not record its URL: set GUST_URL to it to attach, or pass another --data to start one`,
      );
    }
    const keyFile = { from: 'file', path: local.keyFile } as const;
    const client = new GustClient({ url: local.url, urlFrom: 'local', key: keyFile, local });
    return attach(client, `attached to Gust at ${local.url} (pid ${pid}, data in ${dataDir})`, dataDir);
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
      await record(cli, platform, flags);
      cli.out(readyText(platform, undefined, config));
      cli.err(`started Gust on ${platform.url} for gust dev; Ctrl-C stops it`);
    },
    stopping: 'stopping Gust…',
    stop: () => platform.close(),
  };
}
