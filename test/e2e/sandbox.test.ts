import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployProject, type Gust, livePids, startGust } from '../helpers/gust.js';

/**
 * A hostile function, `prober`, tries what a sandboxed function must not do and reports each
 * attempt as data: `ok` with what it got, or the error code it was refused with. The test tells it
 * which real paths to try (it lists them from outside). `target` is another function: its bundle
 * is what the prober tries to steal.
 */
const PROBER = `
import { execSync, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

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
  const { paths, platformPid, targetPid, escapeFile } = (await req.json()) as {
    paths: Record<string, string>;
    platformPid: number;
    targetPid: number;
    escapeFile: string;
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
  report.killPlatform = await attempt(() => process.kill(platformPid, 'SIGTERM'));
  report.signalTarget = await attempt(() => process.kill(targetPid, 0));
  report.targetEnviron = await attempt(() => readFileSync('/proc/' + targetPid + '/environ', 'utf8'));
  return Response.json({
    report,
    ppid: process.ppid,
    uid: process.getuid?.(),
    envKeys: Object.keys(process.env),
    env: { ...process.env },
  });
}
`;

const TARGET = `
const SECRET = 'TARGET-BUNDLE-SECRET';
export default async () => new Response(SECRET.length > 0 ? 'target is fine' : '');
`;

type Attempt = { ok: true; value: unknown } | { ok: false; code: string; message: string };

interface Probe {
  report: Record<string, Attempt>;
  ppid: number;
  uid: number | undefined;
  envKeys: string[];
  env: Record<string, string>;
}

let g: Gust;
let probe: Probe;
let probeText: string;
let targetPid: number;
let targetUid: number;
const escapeFile = path.join(os.tmpdir(), `gust-escape-${process.pid}-${Date.now()}`);
/** The real paths the prober is told to try. */
const paths: Record<string, string> = {};

/** The bundle file (under `dir`, at depth `sub`) whose text contains `marker`. */
async function findBundle(files: string[], marker: string): Promise<string> {
  for (const file of files) {
    if ((await readFile(file, 'utf8').catch(() => '')).includes(marker)) return file;
  }
  throw new Error(`no bundle containing ${marker} among ${files.join(', ')}`);
}

beforeAll(async () => {
  g = await startGust({ env: { GUST_TEST_SECRET: 'leak' } });
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
    triggers:
      - http: { path: /target }
`,
    'src/prober.ts': PROBER,
    'src/target.ts': TARGET,
  });
  // The target must be running, so that its bundle sits in its instance's folder.
  expect(await (await fetch(`${g.url}/target`)).text()).toBe('target is fine');

  const runDirs = (await readdir(os.tmpdir())).filter((n) => n.startsWith(`gust-run-${g.proc.pid}-`));
  expect(runDirs).toHaveLength(1);
  const cells = path.join(os.tmpdir(), runDirs[0]!, 'cells');
  const cellBundles = (await readdir(cells))
    .map((id) => path.join(cells, id, 'fn.mjs'))
    .filter((f) => existsSync(f));
  const dataBundles = (await readdir(path.join(g.dataDir, 'bundles'))).map((f) =>
    path.join(g.dataDir, 'bundles', f),
  );
  paths.targetCellBundle = await findBundle(cellBundles, 'TARGET-BUNDLE-SECRET');
  const [pid] = await livePids(`--allow-fs-read=${path.dirname(paths.targetCellBundle)}/`);
  expect(pid).toBeDefined();
  targetPid = pid!;
  targetUid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${targetPid}/status`, 'utf8'))?.[1]);
  paths.targetDataBundle = await findBundle(dataBundles, 'TARGET-BUNDLE-SECRET');
  paths.proberDataBundle = await findBundle(dataBundles, 'PROBER-BUNDLE-MARKER');
  paths.adminKey = path.join(g.dataDir, 'admin.key');
  paths.masterKey = path.join(g.dataDir, 'master.key');
  paths.database = path.join(g.dataDir, 'gust.db');
  paths.passwd = '/etc/passwd';

  const res = await fetch(`${g.url}/probe`, {
    method: 'POST',
    body: JSON.stringify({ paths, platformPid: g.proc.pid, targetPid, escapeFile }),
  });
  probeText = await res.text();
  expect(res.status, probeText).toBe(200);
  probe = JSON.parse(probeText) as Probe;
});

afterAll(async () => {
  await g?.stop();
});

function refused(name: string): string {
  const a = probe.report[name];
  expect(a, `attempt ${name} was not made`).toBeDefined();
  expect(a!.ok, `${name} should have been refused but got ${JSON.stringify(a)}`).toBe(false);
  return a!.ok ? '' : a!.code;
}

describe('a function in the node sandbox', () => {
  it('can read its own bundle (the control: the prober runs and the sandbox lets the allowed through)', () => {
    expect(probe.report.ownBundle).toEqual({ ok: true, value: true });
    // As root, each instance runs as its own unprivileged uid.
    expect(probe.uid).toBeGreaterThanOrEqual(200_000);
    expect(targetUid).toBeGreaterThanOrEqual(200_000);
    expect(probe.uid).not.toBe(targetUid);
  });

  it("cannot read another function's bundle, in its instance folder or in the data folder", () => {
    for (const name of ['targetCellBundle', 'targetDataBundle', 'proberDataBundle']) {
      for (const how of ['read', 'readAsync', 'open'])
        expect(refused(`${how}:${name}`)).toBe('ERR_ACCESS_DENIED');
    }
    expect(refused('importTarget')).toBe('ERR_ACCESS_DENIED');
    expect(refused('listCells')).toBe('ERR_ACCESS_DENIED');
    expect(probeText).not.toContain('TARGET-BUNDLE-SECRET');
  });

  it('cannot read the data folder, its keys, its database, or /etc/passwd', async () => {
    for (const name of ['adminKey', 'masterKey', 'database', 'passwd']) {
      for (const how of ['read', 'readAsync', 'open'])
        expect(refused(`${how}:${name}`)).toBe('ERR_ACCESS_DENIED');
    }
    expect(refused('listDataDir')).toBe('ERR_ACCESS_DENIED');
    expect(refused('listTmp')).toBe('ERR_ACCESS_DENIED');
    expect(probeText).not.toContain(g.key);
    expect(probeText).not.toContain('root:');
  });

  it('cannot write anywhere, its own folder included', () => {
    expect(refused('writeOwnDir')).toBe('ERR_ACCESS_DENIED');
    expect(refused('overwriteOwnBundle')).toBe('ERR_ACCESS_DENIED');
    expect(refused('writeTmp')).toBe('ERR_ACCESS_DENIED');
    expect(existsSync(escapeFile)).toBe(false);
  });

  it('cannot start a process or a worker, nor reach internal bindings', () => {
    expect(refused('spawn')).toBe('ERR_ACCESS_DENIED');
    expect(refused('execSync')).toBe('ERR_ACCESS_DENIED');
    expect(refused('worker')).toBe('ERR_ACCESS_DENIED');
    expect(refused('binding')).toBe('ERR_ACCESS_DENIED');
  });

  it('cannot signal the platform, which is still alive afterwards', async () => {
    expect(refused('killPlatform')).toBe('EPERM');
    expect(g.proc.exitCode).toBeNull();
    expect(g.proc.signalCode).toBeNull();
    expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
    expect(await (await fetch(`${g.url}/target`)).text()).toBe('target is fine');
  });

  it("cannot signal another function's instance nor read its /proc files", async () => {
    expect(refused('signalTarget')).toBe('EPERM');
    expect(refused('targetEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(await (await fetch(`${g.url}/target`)).text()).toBe('target is fine');
  });

  it("sees exactly its declared env, none of the platform's, not even through /proc", () => {
    expect(probe.envKeys).toEqual(['ONLY']);
    expect(probe.env).toEqual({ ONLY: 'me' });
    // The parent is the platform itself (setpriv execs node), so /proc/<ppid> is the platform's.
    expect(probe.ppid).toBe(g.proc.pid);
    expect(refused('procSelfEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(refused('procParentEnviron')).toBe('ERR_ACCESS_DENIED');
    expect(refused('platformCmdline')).toBe('ERR_ACCESS_DENIED');
    expect(probeText).not.toContain('leak');
    expect(probeText).not.toContain('GUST_');
    expect(probeText).not.toContain(g.dataDir);
  });
});
