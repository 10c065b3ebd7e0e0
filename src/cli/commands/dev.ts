/**
 * dev: `gust up` and `gust deploy` on every save. Starts a platform, or attaches to the one
 * running (dev/platform.ts), deploys DIR/gust.yaml, then watches DIR (dev/watch.ts): each save
 * bundles again and deploys what changed (dev/session.ts), and the logs of the project's functions
 * stream to stdout (dev/logs.ts) until Ctrl-C. A bad save is said and waited out, never fatal.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { hasManifest, MANIFEST_FILES } from '../../manifest/load.js';
import { palette } from '../colors.js';
import type { Cli } from '../context.js';
import { devLogLines } from '../dev/logs.js';
import { startOrAttach } from '../dev/platform.js';
import { DevSession } from '../dev/session.js';
import { type Watch, watchTree } from '../dev/watch.js';
import { CliError } from '../fail.js';
import { LogTail } from '../log-tail.js';
import { projectFolder } from './deploy.js';
import { platformOptions, stopOnSignal, type UpFlags } from './up.js';

export function registerDevCommand(program: Command, cli: Cli): void {
  platformOptions(
    program
      .command('dev')
      .description('up + watch sources, redeploy on save')
      .argument('[dir]', 'folder holding gust.yaml', '.'),
  ).action(async (dir: string, flags: UpFlags) => {
    const root = await projectFolder(cli, dir, 'dev');
    if (!(await hasManifest(root))) {
      throw new CliError(
        `no manifest in ${root} (looked for ${MANIFEST_FILES.join(' and ')}): gust dev watches the folder of a gust.yaml`,
      );
    }
    const target = await startOrAttach(cli, flags);
    const stdout = palette(cli.colors.stdout);
    const stderr = palette(cli.colors.stderr);
    let width = 0;
    const tail = new LogTail({
      client: target.client,
      print: (name, entry) => {
        for (const line of devLogLines(name, entry, stdout, width)) cli.out(line);
      },
      failed: (e) => cli.err(`${stderr.red('✗')} logs: ${e instanceof Error ? e.message : String(e)}`),
    });
    const session = new DevSession({
      cli: { ...cli, client: () => target.client },
      dir: root,
      follow: (names) => {
        width = Math.max(0, ...names.map((n) => n.length));
        return tail.only(names);
      },
      colors: stderr,
    });
    const stop = new AbortController();
    let watch: Watch | undefined;
    stopOnSignal(
      cli,
      target.stopping,
      async () => {
        stop.abort();
        watch?.close();
        await session.close();
        await target.stop();
      },
      target.slowStop,
    );
    await target.announce();
    watch = await watchTree({
      root,
      skip: target.dataDir === undefined ? [] : [target.dataDir],
      changed: (at, paths) => session.changed(at, paths),
    });
    cli.err(`watching ${path.relative(cli.cwd, root) || '.'}: a save deploys what changed; Ctrl-C stops`);
    session.changed();
    await tail.run(stop.signal);
  });
}
