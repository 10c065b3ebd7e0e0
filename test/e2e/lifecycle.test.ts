import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  api,
  cli,
  deployProject,
  type Gust,
  livePids,
  MODES,
  records,
  sleep,
  startGust,
  tempDir,
  WAIT,
} from '../helpers/gust.js';

const running: Gust[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop('SIGKILL');
});

async function start(opts: Parameters<typeof startGust>[0] = {}): Promise<Gust> {
  const g = await startGust(opts);
  running.push(g);
  return g;
}

const SLOW = `export default async (req) => {
  const ms = Number(new URL(req.url).searchParams.get('ms') ?? 0);
  await new Promise((r) => setTimeout(r, ms));
  return new Response('done after ' + ms);
};`;

const project = {
  'gust.yaml':
    'functions:\n  slow:\n    handler: slow.mjs\n    scale: { min: 1 }\n    triggers:\n      - http: { path: /slow }\n',
  'slow.mjs': SLOW,
};

/** Waits until no process of this platform's run folder is alive (bounded). */
async function noneLeft(runMarker: string, withinMs: number): Promise<number[]> {
  const until = Date.now() + withinMs;
  let left = await livePids(runMarker);
  while (left.length > 0 && Date.now() < until) {
    await sleep(100);
    left = await livePids(runMarker);
  }
  return left;
}

/** Instances and stem cells run `<tmp>/gust-run-<platform pid>-.../runtime/main.js`. */
const marker = (g: Gust) => `gust-run-${g.proc.pid}-`;

describe('restart', () => {
  it('keeps functions, versions, keys and records', async () => {
    const first = await start();
    await deployProject(first, project);
    const created = await api<{ key: string }>(first, 'POST', '/keys', { scope: 'deploy' });
    expect(await (await fetch(`${first.url}/slow?ms=1`)).text()).toBe('done after 1');
    const before = await records(first, 'slow');
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await start({ dataDir: first.dataDir });
    expect(second.key).toBe(first.key);
    expect(await (await fetch(`${second.url}/slow?ms=2`)).text()).toBe('done after 2');
    const ls = await api<{ functions: { name: string; version: number }[] }>(
      second,
      'GET',
      '/functions',
      undefined,
      created.body.key,
    );
    expect(ls.status).toBe(200);
    expect(ls.body.functions).toMatchObject([{ name: 'slow', version: 1 }]);
    const after = await records(second, 'slow');
    expect(after.map((r) => r.id)).toEqual(expect.arrayContaining(before.map((r) => r.id)));
    expect(after.length).toBe(before.length + 1);
  });
});

// /dev/shm is a tmpfs on Linux; where it shares a device with the temp folder there is nothing to test.
const otherFs = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(os.tmpdir()).dev;

describe('a data folder on another file system than the temp folder', () => {
  it.skipIf(!otherFs)(
    'copies each bundle once into the run folder, and cold starts link it from there',
    async () => {
      const dataDir = await tempDir('gust-data-', '/dev/shm');
      const g = await start({ dataDir });
      await deployProject(g, project);
      expect(await (await fetch(`${g.url}/slow?ms=1`)).text()).toBe('done after 1');
      const [run] = (await readdir(os.tmpdir())).filter((n) => n.startsWith(marker(g)));
      const copies = await readdir(path.join(os.tmpdir(), run!, 'bundles'));
      expect(copies.filter((n) => n.endsWith('.mjs'))).toHaveLength(1);
      const copy = path.join(os.tmpdir(), run!, 'bundles', copies.find((n) => n.endsWith('.mjs'))!);
      // the copy, plus the hard link of the instance that runs it
      expect(statSync(copy).nlink).toBeGreaterThanOrEqual(2);
    },
  );
});

describe('the master secret', () => {
  it('is refused when damaged, rather than used as a weak key', async () => {
    const first = await start();
    expect(await first.stop('SIGTERM')).toBe(0);
    await writeFile(path.join(first.dataDir, 'master.key'), 'short');
    const r = await cli(undefined, ['up', '--port', '0', '--data', first.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('master.key is damaged');
  });
});

describe('shutdown', () => {
  it('on SIGTERM drains the call in flight, then exits 0 leaving no process behind', async () => {
    const g = await start();
    await deployProject(g, project);
    await vi.waitFor(async () => expect((await livePids(marker(g))).length).toBeGreaterThan(0), WAIT);
    const inflight = fetch(`${g.url}/slow?ms=2000`).then((r) => r.text());
    // Nothing outside shows that the platform has read the request (its record is written at the
    // end), so this waits long enough for a loaded machine: a request not yet read when SIGTERM
    // comes is refused, one read is drained. The call runs on past it.
    await sleep(1000);
    const exit = g.stop('SIGTERM');
    expect(await inflight).toBe('done after 2000');
    expect(await exit).toBe(0);
    expect(await noneLeft(marker(g), WAIT.timeout)).toEqual([]);
  });

  it.each(MODES)(
    'on SIGKILL leaves no instance or stem cell alive, even one stuck in a loop ($name)',
    async (mode) => {
      // Not root, each instance is unshare and node below it: unshare dies by its pdeathsig, node with it.
      const g = await start(mode.user ? { user: mode.user } : {});
      await deployProject(g, {
        ...project,
        'gust.yaml': `${project['gust.yaml']}  spin:\n    handler: spin.mjs\n    timeout: 60s\n    triggers:\n      - http: { path: /spin }\n`,
        'spin.mjs': 'export default () => { for (;;) {} };',
      });
      void fetch(`${g.url}/spin`).catch(() => {});
      // slow's warm instance and a stem cell, then spin's instance (it took the stem cell, which is
      // replaced): three once the call to spin has its instance.
      await vi.waitFor(
        async () => expect((await livePids(marker(g))).length).toBeGreaterThanOrEqual(3),
        WAIT,
      );
      await g.stop('SIGKILL');
      expect(await noneLeft(marker(g), WAIT.timeout)).toEqual([]);
    },
  );
});

describe('gust up', () => {
  it.runIf(process.getuid?.() === 0)(
    'as nobody, starts beside stale run folders of another user that it cannot remove, and says so once',
    async () => {
      // A temp folder shared by users (sticky, like /tmp), holding two root run folders of
      // platforms that no longer exist: nobody may not remove them.
      const tmp = await tempDir('gust-shared-tmp-');
      await chmod(tmp, 0o1777);
      const stale = ['gust-run-999999998-0badcafe', 'gust-run-999999999-0badcafe'];
      for (const name of stale) {
        await mkdir(path.join(tmp, name, 'cells', 'i-x'), { recursive: true });
        await writeFile(path.join(tmp, name, 'cells', 'i-x', 'fn.mjs'), 'export default 1;');
      }
      const g = await start({ user: 'nobody', tmpDir: tmp });
      await deployProject(g, project);
      expect(await (await fetch(`${g.url}/slow`)).text()).toBe('done after 0');
      for (const name of stale) expect(existsSync(path.join(tmp, name))).toBe(true);
      const said = g
        .stderr()
        .split('\n')
        .filter((l) => l.includes('stale run folder'));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain('left 2 stale run folder(s) of other users');
    },
  );

  it('refuses a port in use with one clear line', async () => {
    const g = await start();
    const port = new URL(g.url).port;
    const r = await cli(undefined, ['up', '--port', port, '--data', await tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/port .* in use/);
  });

  it('refuses a data folder that another running Gust uses', async () => {
    const g = await start();
    const r = await cli(undefined, ['up', '--port', '0', '--data', g.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`another Gust (pid ${g.proc.pid}) is running on ${g.dataDir}`);
    expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
  });
});
