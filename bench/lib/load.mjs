/**
 * load: one HTTP load generator for every target of a run, wrk when it is installed (C, light on
 * the CPU the servers need), else autocannon (the devDependency; Node, so it takes a core of its
 * own and caps what it can measure). Both run as their own process, on keep-alive connections.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './gust.mjs';
import { start } from './procs.mjs';

const AUTOCANNON = path.join(ROOT, 'node_modules', '.bin', 'autocannon');

/** `{name, version, command(url, seconds, connections) -> argv}`; `forced` is 'wrk' | 'autocannon' | undefined. */
export function pickGenerator(forced) {
  const wrk = forced === 'autocannon' ? undefined : which('wrk');
  if (forced === 'wrk' && !wrk)
    throw new Error('BENCH_GENERATOR=wrk but wrk is not installed (apt-get install -y wrk)');
  if (wrk) {
    return {
      name: 'wrk',
      version: versionOf(wrk, '-v'),
      argv: (url, seconds, connections) => [
        wrk,
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--latency',
        url,
      ],
      parse: parseWrk,
    };
  }
  return {
    name: 'autocannon',
    version: versionOf(AUTOCANNON, '--version'),
    argv: (url, seconds, connections) => [
      AUTOCANNON,
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-j',
      url,
    ],
    parse: parseAutocannon,
  };
}

/** Runs the generator once: `{rps, p50Ms, p99Ms, requests, failed}` (failed: errors, timeouts and non-2xx). */
export async function runLoad(gen, url, { seconds, connections }) {
  const [file, ...args] = gen.argv(url, seconds, connections);
  const proc = start(file, args);
  let out = '';
  proc.child.stdout.on('data', (b) => {
    out += b.toString();
  });
  const how = await proc.exited;
  if (how !== 0) throw new Error(`${gen.name} failed (${how}): ${proc.tail()}`);
  return gen.parse(out);
}

function parseWrk(out) {
  const num = (re) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const errors = [...out.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: wrkTime(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]),
    p99Ms: wrkTime(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]),
    requests: num(/(\d+) requests in/),
    failed: errors + (num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0),
  };
}

function wrkTime(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
}

/** autocannon reports latency in whole milliseconds. */
function parseAutocannon(out) {
  const r = JSON.parse(out);
  return {
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    failed: r.errors + r.timeouts + r.non2xx,
  };
}

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The first line a tool prints about its version (wrk prints it with its usage and exits 1). */
function versionOf(file, flag) {
  const r = spawnSync(file, [flag], { encoding: 'utf8' });
  const line = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0];
  return line.replace(/\s*(\[|Copyright).*$/, '').trim() || 'unknown';
}
