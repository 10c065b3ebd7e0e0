/**
 * gust dev: save-to-live (about a minute). A handler file is written, then its route polled until
 * it answers the new text: the time a developer waits between saving and seeing the change. Beside
 * it, in the same run and on the same platform, the same change deployed by the CLI (`gust deploy`
 * of another folder, then the same polling), and the bundling alone (in this process, from
 * dist/build/bundle.js: a one-shot bundle as `gust deploy` makes it, a rebuild of a kept esbuild
 * context as `gust dev` makes it). Two handlers: `hello` (a few lines) and `big` (a few lines that
 * import a module of 4000 small functions, about 0.7 MB bundled, which no save changes).
 * Targets alternate within each round. Prints medians and writes bench/results/dev.json.
 * Settings: BENCH_DEV_SAVES (20 per target, after one unmeasured).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Bundler, bundleFunctions } from '../dist/build/bundle.js';
import { ROOT, removeTempDirs, tempDir, writeProject } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { start, stop, stopAll, waitForLine } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { median, percentile } from './lib/stats.mjs';
import { fmt, table } from './lib/table.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(ROOT, 'bin', 'gust.js');
const SAVES = int('BENCH_DEV_SAVES', 20);
const POLL_MS = 10;
const run = promisify(execFile);

/** Many small functions reached through a table, so that none is dropped as unused. */
function steps(count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      `function step${i}(input: { n: number }): { n: number } {`,
      `  return { n: (input.n * ${(i % 7) + 2} + ${i}) % 1000003 };`,
      '}',
    );
  }
  lines.push(`export const steps = [${Array.from({ length: count }, (_, i) => `step${i}`).join(', ')}];`);
  return `${lines.join('\n')}\n`;
}

const handlers = {
  hello: (text) => `export default async () => new Response('${text}');\n`,
  big: (text) =>
    `import { steps } from './steps';\nexport default async () => new Response('${text}' + ' ' + steps.length);\n`,
};
const answer = { hello: (text) => text, big: (text) => `${text} 4000` };

/** A project of two functions, `PREFIX-hello` and `PREFIX-big`, routed at their names. */
function project(prefix, text) {
  const fn = (name, file) =>
    `  ${prefix}-${name}:\n    handler: ${file}\n    triggers:\n      - http: { path: /${prefix}-${name} }\n`;
  return {
    'gust.yaml': `functions:\n${fn('hello', 'hello.mjs')}${fn('big', 'big.ts')}`,
    'hello.mjs': handlers.hello(text),
    'big.ts': handlers.big(text),
    'steps.ts': steps(4000),
  };
}

/** Polls the route until it answers `expected`; ms since `t0`. */
async function liveAfter(url, expected, t0) {
  const deadline = t0 + 30_000;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res !== undefined && (await res.text()) === expected) return performance.now() - t0;
    if (performance.now() > deadline) throw new Error(`${url} did not answer ${expected} within 30 s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function main() {
  printHeader('dev', 'npm run build && node bench/dev.mjs');
  console.log();
  const devDir = await writeProject(project('dev', 'r0'));
  const cliDir = await writeProject(project('cli', 'r0'));
  const dataDir = await tempDir('gust-bench-data-');
  const configHome = await tempDir('gust-bench-config-');
  const env = { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: configHome };
  const dev = start(
    process.execPath,
    [BIN, 'dev', devDir, '--port', '0', '--s3-port', '0', '--data', dataDir],
    {
      env,
    },
  );
  /** What dev says of each deploy: `✓ dev-hello v3 live in 42 ms`. */
  const said = [];
  dev.child.stderr.on('data', (b) => {
    for (const m of b.toString().matchAll(/^✓ (\S+) v\d+ live in (\d+) ms$/gm))
      said.push([m[1], Number(m[2])]);
  });
  const url = await waitForLine(dev, /listening on (http:\/\/\S+)/, 60_000);
  const key = (await readFile(path.join(dataDir, 'admin.key'), 'utf8')).trim();
  const cliEnv = { ...env, GUST_URL: url, GUST_API_KEY: key };
  await run(process.execPath, [BIN, 'deploy', cliDir], { env: cliEnv });
  for (const name of ['dev-hello', 'dev-big', 'cli-hello', 'cli-big']) {
    await liveAfter(`${url}/${name}`, answer[name.split('-')[1]]('r0'), performance.now()).catch((e) => {
      throw new Error(`${e.message}; gust dev said: ${dev.tail()}`);
    });
  }

  const samples = { 'dev-hello': [], 'cli-hello': [], 'dev-big': [], 'cli-big': [] };
  const devSaid = { 'dev-hello': [], 'dev-big': [] };
  for (let round = 1; round <= SAVES + 1; round++) {
    for (const target of Object.keys(samples)) {
      const [way, kind] = target.split('-');
      const text = `r${round}`;
      const dir = way === 'dev' ? devDir : cliDir;
      const before = said.length;
      const t0 = performance.now();
      await writeFile(path.join(dir, kind === 'hello' ? 'hello.mjs' : 'big.ts'), handlers[kind](text));
      if (way === 'cli') await run(process.execPath, [BIN, 'deploy', cliDir], { env: cliEnv });
      const ms = await liveAfter(`${url}/${target}`, answer[kind](text), t0);
      if (round === 1) continue; // unmeasured
      samples[target].push(ms);
      if (way === 'dev') {
        while (said.length === before) await new Promise((r) => setTimeout(r, POLL_MS));
        devSaid[target].push(said.at(-1)[1]);
      }
    }
    process.stderr.write(`  .. round ${round}/${SAVES + 1}\n`);
  }

  await stop(dev); // the saves below are not to be deployed
  // the bundling alone, in this process: one-shot (gust deploy) and a kept context (gust dev)
  const bundling = {};
  for (const kind of ['hello', 'big']) {
    const spec = [{ name: kind, handler: { path: kind === 'hello' ? 'hello.mjs' : 'big.ts' } }];
    const once = [];
    const kept = [];
    const bundler = new Bundler(devDir);
    await bundler.bundle(spec);
    for (let i = 0; i < SAVES; i++) {
      await writeFile(path.join(devDir, spec[0].handler.path), handlers[kind](`b${i}`));
      let t = performance.now();
      await bundleFunctions(devDir, spec);
      once.push(performance.now() - t);
      t = performance.now();
      await bundler.bundle(spec);
      kept.push(performance.now() - t);
    }
    await bundler.dispose();
    bundling[kind] = { once, kept };
  }

  const row = (label, values) => [
    label,
    fmt(median(values)),
    fmt(percentile(values, 90)),
    fmt(Math.min(...values)),
    fmt(Math.max(...values)),
  ];
  console.log(
    table(
      ['save -> route answers the new text', 'median ms', 'p90 ms', 'min ms', 'max ms'],
      [
        row('hello: gust dev', samples['dev-hello']),
        row('hello: gust dev, as it says (save -> deployed)', devSaid['dev-hello']),
        row('hello: gust deploy (CLI process)', samples['cli-hello']),
        row('hello: bundle one-shot (no deploy)', bundling.hello.once),
        row('hello: bundle, kept context (no deploy)', bundling.hello.kept),
        row('big: gust dev', samples['dev-big']),
        row('big: gust dev, as it says (save -> deployed)', devSaid['dev-big']),
        row('big: gust deploy (CLI process)', samples['cli-big']),
        row('big: bundle one-shot (no deploy)', bundling.big.once),
        row('big: bundle, kept context (no deploy)', bundling.big.kept),
      ],
    ),
  );
  for (const kind of ['hello', 'big']) {
    const ratio = median(samples[`dev-${kind}`]) / median(samples[`cli-${kind}`]);
    console.log(`${kind}: gust dev / gust deploy = ${fmt(ratio, 2)}`);
  }
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(
    path.join(HERE, 'results', 'dev.json'),
    `${JSON.stringify({ date: new Date().toISOString(), saves: SAVES, samples, devSaid, bundling }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
