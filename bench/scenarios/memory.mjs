/**
 * memory: resident memory of one warm, idle instance, on a platform of its own without stem cells
 * (GUST_STEM_CELLS=0), so that its only instance process is the function's. The instance is the
 * node process itself (setpriv execs node). Baseline: an idle bare `node`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { apiGet, startGust, writeProject } from '../lib/gust.mjs';
import { timedGet } from '../lib/http.mjs';
import { start, stop } from '../lib/procs.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SETTLE_MS = 1000;

export async function idleMemory({ handler, progress }) {
  progress('idle memory: platform with GUST_STEM_CELLS=0');
  const dir = await writeProject({
    'hello.mjs': handler,
    'gust.yaml':
      'functions:\n  idle:\n    handler: hello.mjs\n    scale: { min: 1 }\n    triggers:\n      - http: { path: /idle }\n',
  });
  const g = await startGust({ dir, env: { GUST_STEM_CELLS: '0' } });
  let instance;
  try {
    const r = await timedGet(`${g.url}/idle`);
    if (r.status !== 200) throw new Error(`idle answered ${r.status}: ${r.body}`);
    if ((await apiGet(g, '/functions/idle')).instances !== 1)
      throw new Error('idle should have exactly one instance');
    await sleep(SETTLE_MS);
    const children = childrenOf(g.proc.child.pid);
    const instances = children.filter((c) => c.cmdline.includes('/runtime/main.js'));
    if (instances.length !== 1)
      throw new Error(`expected one instance process, found: ${JSON.stringify(children)}`);
    instance = { instanceMiB: instances[0].rssMiB, platformMiB: rssMiB(g.proc.child.pid), children };
  } finally {
    await stop(g.proc);
  }
  progress('idle memory: bare node baseline');
  const bare = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  try {
    await sleep(SETTLE_MS);
    return { ...instance, bareNodeMiB: rssMiB(bare.child.pid) };
  } finally {
    await stop(bare);
  }
}

function childrenOf(pid) {
  let out = '';
  try {
    out = execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is none
  }
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => p > 0)
    .map((p) => ({ pid: p, cmdline: cmdline(p), rssMiB: rssMiB(p) }));
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** VmRSS of /proc/PID/status, in MiB. */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}
