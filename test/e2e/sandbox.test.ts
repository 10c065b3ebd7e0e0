import { existsSync, readFileSync } from 'node:fs';
import { chmod, readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  deployProject,
  type Gust,
  livePids,
  MODES,
  type Mode,
  ROOT,
  startGust,
} from '../helpers/gust.js';

/**
 * Run in both modes (MODES: as root, and as nobody with user and PID namespaces).
 * A hostile function, `prober`, tries what a sandboxed function must not do and reports each
 * attempt as data: `ok` with what it got, or the error code it was refused with. The test tells it
 * which real paths to try (it lists them from outside). `target` is another function: its bundle
 * is what the prober tries to steal.
 */
const PROBER = `
import { execSync, spawn } from 'node:child_process';
import { linkSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import http from 'node:http';
import net from 'node:net';

const MARKER = 'PROBER-BUNDLE-MARKER';

type Attempt = { ok: true; value: unknown } | { ok: false; code: string; message: string };

async function attempt(fn: () => unknown): Promise<Attempt> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { ok: false, code: String(err.code ?? 'NO_CODE'), message: String(err.message) };
  }
}

/** A spawn refused may throw or emit 'error'; one that starts exits with a code. */
function spawnAttempt(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'echo escaped'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ exited: code }));
  });
}

export default async function (req: Request): Promise<Response> {
  const { paths, platformPid, targetPid, escapeFile, platformUrl, addon, unixSocket } = (await req.json()) as {
    paths: Record<string, string>;
    platformPid: number;
    targetPid: number;
    escapeFile: string;
    platformUrl: string;
    addon: string;
    unixSocket: string;
  };
  const ownBundle = fileURLToPath(import.meta.url);
  const ownDir = path.dirname(ownBundle);
  const report: Record<string, Attempt> = {};
  report.ownBundle = await attempt(() => readFileSync(ownBundle, 'utf8').includes(MARKER));
  for (const [name, p] of Object.entries(paths)) {
    report['read:' + name] = await attempt(() => readFileSync(p, 'utf8').slice(0, 200));
    report['readAsync:' + name] = await attempt(async () => (await readFile(p, 'utf8')).slice(0, 200));
    report['open:' + name] = await attempt(() => openSync(p, 'r'));
  }
  report.importTarget = await attempt(async () => Object.keys(await import(paths.targetCellBundle!)));
  report.listCells = await attempt(() => readdirSync(path.dirname(ownDir)));
  report.listDataDir = await attempt(() => readdirSync(paths.adminKey ? path.dirname(paths.adminKey) : '/'));
  report.listTmp = await attempt(() => readdirSync('/tmp'));
  report.listProc = await attempt(() => readdirSync('/proc'));
  report.procSelfRoot = await attempt(() => readFileSync('/proc/self/root' + paths.adminKey, 'utf8'));
  report.procSelfCwd = await attempt(() => readdirSync('/proc/self/cwd'));
  report.procSelfFd = await attempt(() => readdirSync('/proc/self/fd'));
  report.traversal = await attempt(() =>
    readFileSync(ownDir + '/../' + path.basename(path.dirname(paths.targetCellBundle!)) + '/fn.mjs', 'utf8'),
  );
  report.symlinkOut = await attempt(() => symlinkSync(paths.adminKey!, path.join(ownDir, 'key-link')));
  report.hardLinkOut = await attempt(() => linkSync(paths.adminKey!, path.join(ownDir, 'key-hard')));
  report.procSelfEnviron = await attempt(() => readFileSync('/proc/self/environ', 'utf8'));
  report.procParentEnviron = await attempt(() => readFileSync('/proc/' + process.ppid + '/environ', 'utf8'));
  report.platformCmdline = await attempt(() => readFileSync('/proc/' + platformPid + '/cmdline', 'utf8'));
  report.writeOwnDir = await attempt(() => writeFileSync(path.join(ownDir, 'written.txt'), 'x'));
  report.overwriteOwnBundle = await attempt(() => writeFileSync(ownBundle, 'export default 1;'));
  report.writeTmp = await attempt(() => writeFileSync(escapeFile, 'x'));
  report.spawn = await attempt(spawnAttempt);
  report.execSync = await attempt(() => execSync('echo escaped').toString());
  report.worker = await attempt(() => {
    const w = new Worker('1', { eval: true });
    void w.terminate();
    return 'started';
  });
  report.binding = await attempt(() => typeof (process as unknown as { binding(n: string): unknown }).binding('fs'));
  report.addon = await attempt(() => process.dlopen({ exports: {} }, addon));
  report.inspector = await attempt(async () => (await import('node:inspector')).open(0));
  report.controlApi = await attempt(async () => (await fetch(platformUrl + '/_gust/api/v1/functions')).status);
  report.controlSecrets = await attempt(async () => (await fetch(platformUrl + '/_gust/api/v1/secrets')).status);
  report.killPlatform = await attempt(() => process.kill(platformPid, 'SIGTERM'));
  report.signalTarget = await attempt(() => process.kill(targetPid, 0));
  report.targetEnviron = await attempt(() => readFileSync('/proc/' + targetPid + '/environ', 'utf8'));
  report.unixListen = await attempt(
    () =>
      new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(unixSocket + '.planted', () => {
          server.close();
          resolve('listening');
        });
      }),
  );
  report.unixConnect = await attempt(
    () =>
      new Promise((resolve, reject) => {
        const c = net.connect(unixSocket);
        c.once('error', reject);
        c.once('connect', () => {
          c.destroy();
          resolve('connected');
        });
      }),
  );
  report.unixHttp = await attempt(
    () =>
      new Promise((resolve, reject) => {
        const r = http.get({ socketPath: unixSocket, path: '/' }, (res) => resolve(res.statusCode));
        r.once('error', reject);
      }),
  );
  // Every process it may signal but itself: none but its own, in any mode.
  report.killEveryone = await attempt(() => process.kill(-1, 'SIGKILL'));
  return Response.json({
    report,
    pid: process.pid,
    ppid: process.ppid,
    uid: process.getuid?.(),
    envKeys: Object.keys(process.env),
    env: { ...process.env },
  });
}
`;

/** A platform secret given to `target` alone. */
const TARGET_SECRET = 'TARGET-SECRET-VALUE-4f1c';

const TARGET = `
const SECRET = 'TARGET-BUNDLE-SECRET';
export default async () =>
  new Response(SECRET.length > 0 && process.env.TARGET_KEY === '${TARGET_SECRET}' ? 'target is fine' : 'target lost its secret');
`;

type Attempt = { ok: true; value: unknown } | { ok: false; code: string; message: string };

interface Probe {
  report: Record<string, Attempt>;
  pid: number;
  ppid: number;
  uid: number | undefined;
  envKeys: string[];
  env: Record<string, string>;
}

const ADDON = path.join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

/** The bundle file whose text contains `marker`. */
async function findBundle(files: string[], marker: string): Promise<string> {
  for (const file of files) {
    if ((await readFile(file, 'utf8').catch(() => '')).includes(marker)) return file;
  }
  throw new Error(`no bundle containing ${marker} among ${files.join(', ')}`);
}

interface Setup {
  g: Gust;
  probe: Probe;
  probeText: string;
  targetPid: number;
  targetUid: number;
  /** The target's instance folder. */
  targetCellDir: string;
  escapeFile: string;
  /** A unix socket the test listened on (mode 0777), and how many connections it got. */
  unixSocket: string;
  unixConnections: number;
}

/** A platform in that mode with `prober` and `target` deployed, and the prober's report. */
async function setUp(mode: Mode): Promise<Setup> {
  const g = await startGust({ env: { GUST_TEST_SECRET: 'leak' }, ...(mode.user ? { user: mode.user } : {}) });
  expect((await api(g, 'PUT', '/secrets/TARGET_KEY', { value: TARGET_SECRET })).status).toBe(200);
  await deployProject(g, {
    'gust.yaml': `
functions:
  prober:
    handler: src/prober.ts
    env: { ONLY: "me" }
    triggers:
      - http: { path: /probe, methods: [POST] }
  target:
    handler: src/target.ts
    secrets: [TARGET_KEY]
    triggers:
      - http: { path: /target }
`,
    'src/prober.ts': PROBER,
    'src/target.ts': TARGET,
  });
  // The target must be running, so that its bundle sits in its instance's folder.
  expect(await (await fetch(`${g.url}/target`)).text()).toBe('target is fine');

  const runDirs = (await readdir(g.tmpDir)).filter((n) => n.startsWith(`gust-run-${g.proc.pid}-`));
  expect(runDirs).toHaveLength(1);
  const cells = path.join(g.tmpDir, runDirs[0]!, 'cells');
  const cellBundles = (await readdir(cells))
    .map((id) => path.join(cells, id, 'fn.mjs'))
    .filter((f) => existsSync(f));
  const dataBundles = (await readdir(path.join(g.dataDir, 'bundles'))).map((f) =>
    path.join(g.dataDir, 'bundles', f),
  );
  const paths: Record<string, string> = {};
  paths.targetCellBundle = await findBundle(cellBundles, 'TARGET-BUNDLE-SECRET');
  const [targetPid] = await livePids(`--allow-fs-read=${path.dirname(paths.targetCellBundle)}/`);
  expect(targetPid).toBeDefined();
  const status = await readFile(`/proc/${targetPid}/status`, 'utf8');
  const targetUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  paths.targetDataBundle = await findBundle(dataBundles, 'TARGET-BUNDLE-SECRET');
  paths.proberDataBundle = await findBundle(dataBundles, 'PROBER-BUNDLE-MARKER');
  paths.adminKey = path.join(g.dataDir, 'admin.key');
  paths.masterKey = path.join(g.dataDir, 'master.key');
  paths.database = path.join(g.dataDir, 'gust.db');
  paths.passwd = '/etc/passwd';
  paths.platformEnviron = `/proc/${g.proc.pid}/environ`;

  const escapeFile = path.join(g.tmpDir, `gust-escape-${process.pid}-${Date.now()}`);
  // A local service on a unix socket anyone may connect to: the prober must reach it no way.
  const unixSocket = path.join(g.tmpDir, `gust-probe-${process.pid}-${Date.now()}.sock`);
  const unixServer = net.createServer((c) => {
    unixConnections++;
    c.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  });
  let unixConnections = 0;
  await new Promise<void>((resolve) => unixServer.listen(unixSocket, resolve));
  await chmod(unixSocket, 0o777);
  const res = await fetch(`${g.url}/probe`, {
    method: 'POST',
    body: JSON.stringify({
      paths,
      platformPid: g.proc.pid,
      targetPid,
      escapeFile,
      platformUrl: g.url,
      addon: ADDON,
      unixSocket,
    }),
  });
  await new Promise<void>((resolve) => unixServer.close(() => resolve()));
  const probeText = await res.text();
  expect(res.status, probeText).toBe(200);
  return {
    g,
    probe: JSON.parse(probeText) as Probe,
    probeText,
    targetPid: targetPid!,
    targetUid,
    targetCellDir: path.dirname(paths.targetCellBundle),
    escapeFile,
    unixSocket,
    unixConnections,
  };
}

describe.each(MODES)('a function in the node sandbox, the platform running $name', (mode) => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp(mode);
  });
  afterAll(async () => {
    await s?.g.stop();
  });

  function refused(name: string): string {
    const a = s.probe.report[name];
    expect(a, `attempt ${name} was not made`).toBeDefined();
    expect(a!.ok, `${name} should have been refused but got ${JSON.stringify(a)}`).toBe(false);
    return a!.ok ? '' : a!.code;
  }

  /** The platform process is up, answers, and the target (its secret intact) too. */
  async function expectHealthy(): Promise<void> {
    expect(s.g.proc.exitCode).toBeNull();
    expect(s.g.proc.signalCode).toBeNull();
    expect((await fetch(`${s.g.url}/_gust/healthz`)).status).toBe(200);
    expect(await (await fetch(`${s.g.url}/target`)).text()).toBe('target is fine');
  }

  it('can read its own bundle (the control: the prober runs and the sandbox lets the allowed through)', () => {
    expect(s.probe.report.ownBundle).toEqual({ ok: true, value: true });
    if (mode.root) {
      // Each instance runs as its own unprivileged uid.
      expect(s.probe.uid).toBeGreaterThanOrEqual(200_000);
      expect(s.targetUid).toBeGreaterThanOrEqual(200_000);
      expect(s.probe.uid).not.toBe(s.targetUid);
    } else {
      // Its own PID namespace, where it is the first and only process.
      expect(s.probe.pid).toBe(1);
      expect(s.probe.ppid).toBe(0);
    }
  });

  it('holds no capability, even in its own user namespace', async () => {
    // The node process that runs the function. (Not root, unshare above it is in the new user
    // namespace too, with every capability there, as its creator: it runs no function code, and the
    // function, in a PID namespace below, has no pid to reach it by.)
    const pids: number[] = [];
    for (const pid of await livePids(`--allow-fs-read=${s.targetCellDir}/`)) {
      const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0];
      if (argv0 === process.execPath) pids.push(pid);
    }
    expect(pids).toHaveLength(1);
    for (const pid of pids) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1], `pid ${pid}`).toBe('0000000000000000');
      expect(/^CapPrm:\s+(\w+)/m.exec(status)?.[1], `pid ${pid}`).toBe('0000000000000000');
    }
  });

  it("cannot read another function's bundle, in its instance folder or in the data folder", () => {
    for (const name of ['targetCellBundle', 'targetDataBundle', 'proberDataBundle']) {
      for (const how of ['read', 'readAsync', 'open'])
        expect(refused(`${how}:${name}`)).toBe('ERR_ACCESS_DENIED');
    }
    expect(refused('importTarget')).toBe('ERR_ACCESS_DENIED');
    expect(refused('listCells')).toBe('ERR_ACCESS_DENIED');
    expect(refused('traversal')).toBe('ERR_ACCESS_DENIED');
    expect(s.probeText).not.toContain('TARGET-BUNDLE-SECRET');
  });

  it('cannot read the data folder, its keys, its database, /etc/passwd, nor list /proc or /tmp', async () => {
    for (const name of ['adminKey', 'masterKey', 'database', 'passwd', 'platformEnviron']) {
      for (const how of ['read', 'readAsync', 'open'])
        expect(refused(`${how}:${name}`)).toBe('ERR_ACCESS_DENIED');
    }
    expect(refused('listDataDir')).toBe('ERR_ACCESS_DENIED');
    expect(refused('listTmp')).toBe('ERR_ACCESS_DENIED');
    expect(refused('listProc')).toBe('ERR_ACCESS_DENIED');
    expect(s.probeText).not.toContain(s.g.key);
    expect(s.probeText).not.toContain('root:');
  });

  it('cannot go around that through /proc/self (root, cwd, fds)', () => {
    expect(refused('procSelfRoot')).toBe('ERR_ACCESS_DENIED');
    expect(refused('procSelfCwd')).toBe('ERR_ACCESS_DENIED');
    expect(refused('procSelfFd')).toBe('ERR_ACCESS_DENIED');
  });

  it('cannot write anywhere, its own folder included, nor link a file from outside into it', () => {
    expect(refused('writeOwnDir')).toBe('ERR_ACCESS_DENIED');
    expect(refused('overwriteOwnBundle')).toBe('ERR_ACCESS_DENIED');
    expect(refused('writeTmp')).toBe('ERR_ACCESS_DENIED');
    expect(refused('symlinkOut')).toBe('ERR_ACCESS_DENIED');
    expect(refused('hardLinkOut')).toBe('ERR_ACCESS_DENIED');
    expect(existsSync(s.escapeFile)).toBe(false);
  });

  it('can neither make a unix socket (a file) nor connect to one, by net or http', () => {
    expect(refused('unixListen')).toBe('ERR_ACCESS_DENIED');
    expect(existsSync(`${s.unixSocket}.planted`)).toBe(false);
    expect(refused('unixConnect')).toBe('ERR_ACCESS_DENIED');
    expect(refused('unixHttp')).toBe('ERR_ACCESS_DENIED');
    expect(s.unixConnections).toBe(0);
  });

  it('cannot start a process, a worker, an addon or the inspector, nor reach internal bindings', () => {
    expect(refused('spawn')).toBe('ERR_ACCESS_DENIED');
    expect(refused('execSync')).toBe('ERR_ACCESS_DENIED');
    expect(refused('worker')).toBe('ERR_ACCESS_DENIED');
    expect(refused('binding')).toBe('ERR_ACCESS_DENIED');
    expect(refused('addon')).toBe('ERR_DLOPEN_DISABLED');
    expect(refused('inspector')).toBe('ERR_ACCESS_DENIED');
  });

  it('cannot signal the platform, which is still alive afterwards', async () => {
    // As root another uid (EPERM); in its own PID namespace the platform has no pid at all (ESRCH).
    expect(refused('killPlatform')).toBe(mode.root ? 'EPERM' : 'ESRCH');
    await expectHealthy();
  });

  it("cannot signal another function's instance nor read its /proc files", async () => {
    expect(refused('signalTarget')).toBe(mode.root ? 'EPERM' : 'ESRCH');
    expect(refused('targetEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(isAliveProcess(s.targetPid)).toBe(true);
    await expectHealthy();
  });

  it('kills nothing but itself with kill(-1, SIGKILL): it can signal no other process', async () => {
    const a = s.probe.report.killEveryone;
    // Nobody to signal: ESRCH (as root, kill(-1) may also report success for no process but itself).
    if (a && !a.ok) expect(a.code).toBe('ESRCH');
    expect(isAliveProcess(s.targetPid)).toBe(true);
    await expectHealthy();
  });

  it('cannot call the control API without a key', () => {
    expect(s.probe.report.controlApi).toEqual({ ok: true, value: 401 });
    expect(s.probe.report.controlSecrets).toEqual({ ok: true, value: 401 });
  });

  it("sees exactly its declared env, none of the platform's nor another function's secrets, not even through /proc", () => {
    expect(s.probe.envKeys).toEqual(['ONLY']);
    expect(s.probe.env).toEqual({ ONLY: 'me' });
    // As root, the parent is the platform itself (setpriv execs node), so /proc/<ppid> is the platform's.
    if (mode.root) expect(s.probe.ppid).toBe(s.g.proc.pid);
    expect(refused('procSelfEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(refused('procParentEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(refused('platformCmdline')).toBe('ERR_ACCESS_DENIED');
    expect(s.probeText).not.toContain('leak');
    expect(s.probeText).not.toContain(TARGET_SECRET);
    expect(s.probeText).not.toContain('GUST_');
    expect(s.probeText).not.toContain(s.g.dataDir);
  });
});

function isAliveProcess(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
