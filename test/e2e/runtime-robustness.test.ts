import { readdir, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  deployProject,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

/**
 * Functions that attack the platform through the runtime rather than fail on their own: they
 * forge protocol messages on the IPC channel, never finish loading, return headers HTTP cannot
 * carry, or lose their bundle. Each must end its own invocation with a clear status while the
 * platform keeps answering. A forging function forges only when asked (`?forge=1`), so that the
 * next call shows the function recovered.
 */
/** What a function can send on its channel (fd 3, a JSON batch per line) without the runtime. */
const SEND = `import { writeSync } from 'node:fs';
/** Writes it all, however full the socket is (it is non-blocking). */
async function writeAll(data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; ) {
    try {
      at += writeSync(3, data, at);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
const send = (batch: unknown) => writeAll(Buffer.from(JSON.stringify(batch) + '\\n'));
`;

const forging = (forgery: string) => `${SEND}
export default async function (req: Request, ctx: { invocationId: string }): Promise<Response> {
  if (new URL(req.url).searchParams.get('forge') === '1') {
    const id = ctx.invocationId;
    ${forgery}
    await new Promise((r) => setTimeout(r, 5_000));
    return new Response('the forgery went unnoticed');
  }
  return new Response('fine');
}
`;

const FORGERIES: Record<string, string> = {
  'forge-null': 'send(null);',
  'forge-head': `const head = { t: 'head', id, status: 200, headers: [] };
    send([head, head]);`,
  'forge-result': `send([{ t: 'result', id: 'not-' + id, logs: '' }]);`,
  'forge-chunk': `send([{ t: 'chunk', id, data: 'aGk=' }]);`,
  'forge-type': `send([{ t: 'head', id, status: 'two hundred', headers: 42 }]);`,
  'forge-garbage': `writeSync(3, 'this is not JSON\\n');`,
  // Node's IPC would have taken this for one of its own (handle passing); here it is a bad batch.
  'forge-node-internal': `send({ cmd: 'NODE_HANDLE', type: 'net.Socket', msg: 1 });`,
  // 144 MiB without a newline: one message past the bound (Node's IPC grew a string until it threw in the platform).
  'forge-endless': `const block = Buffer.alloc(16 * 1024 * 1024, 120);
    for (let i = 0; i < 9; i++) await writeAll(block);`,
};

const NEVER_LOADS_MARKER = 'NEVER-LOADS-MARKER';
const ORPHAN_MARKER = 'ORPHAN-BUNDLE-MARKER';

const SOURCES: Record<string, { source: string; extra?: string }> = {
  ...Object.fromEntries(Object.entries(FORGERIES).map(([name, f]) => [name, { source: forging(f) }])),
  'log-flood': {
    source: `${SEND}
export default async (req: Request, ctx: { invocationId: string }) => {
  await send([{ t: 'log', id: ctx.invocationId, text: 'flood '.repeat(1_000_000) }]);
  return new Response('flooded');
};`,
  },
  'stuck-loop': {
    extra: 'timeout: 3s',
    source: `console.log('${NEVER_LOADS_MARKER}');
while (true) {}
export default async () => new Response('never');`,
  },
  'stuck-await': {
    extra: 'timeout: 3s',
    source: `console.log('${NEVER_LOADS_MARKER}');
await new Promise(() => {});
export default async () => new Response('never');`,
  },
  'price-lambda': {
    source: `export const handler = async () => ({ statusCode: 200, headers: { 'x-price': '9 €' }, body: 'x' });`,
  },
  'price-web': {
    source: `export default async () => new Response('x', { headers: { 'x-note': 'a\\u0001b' } });`,
  },
  'price-stream': {
    source: `export default async () => {
  const body = new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 20));
      c.enqueue(new TextEncoder().encode('x'));
      c.close();
    },
  });
  return new Response(body, { headers: { 'x-note': 'a\\u0001b' } });
};`,
  },
  orphan: { source: `export default async () => new Response('${ORPHAN_MARKER}');` },
  other: { source: `export default async () => new Response('other is fine');` },
};

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  const files: Record<string, string> = {};
  let yaml = 'functions:\n';
  for (const [name, { source, extra }] of Object.entries(SOURCES)) {
    yaml += `  ${name}:\n    handler: src/${name}.ts\n${extra ? `    ${extra}\n` : ''}    triggers:\n      - http: { path: /${name} }\n`;
    files[`src/${name}.ts`] = source;
  }
  await deployProject(g, { 'gust.yaml': yaml, ...files });
});

afterAll(async () => {
  await g?.stop();
});

/** The platform process is up, answers, and runs other functions as before. */
async function expectPlatformFine(): Promise<void> {
  expect(g.proc.exitCode).toBeNull();
  expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
  const other = await fetch(`${g.url}/other`);
  expect(await other.text()).toBe('other is fine');
}

async function lastRecord(fn: string): Promise<InvocationRecord> {
  const [record] = await records(g, fn, 1);
  if (!record) throw new Error(`${fn} has no invocation record`);
  return record;
}

async function callJson(route: string) {
  const res = await fetch(`${g.url}${route}`);
  const body = (await res.json()) as { error: { code: string; message: string; invocationId: string } };
  const record = await api<InvocationRecord>(g, 'GET', `/invocations/${body.error.invocationId}`);
  return { status: res.status, error: body.error, record: record.body };
}

describe('a function that forges messages on its channel', () => {
  it.each(Object.keys(FORGERIES))(
    '%s ends its own invocation as crashed (protocol violation) and the platform carries on',
    async (name) => {
      // A forged head may have gone out before the violation: then the stream is cut short.
      await fetch(`${g.url}/${name}?forge=1`)
        .then((r) => r.text())
        .catch(() => undefined);
      const record = await lastRecord(name);
      expect(record.status).toBe('crashed');
      expect(record.error).toMatch(/^protocol violation: /);
      await expectPlatformFine();
      const again = await fetch(`${g.url}/${name}`);
      expect(await again.text()).toBe('fine');
    },
  );

  it('a log message far past the limit is cut to it, and the invocation still succeeds', async () => {
    const res = await fetch(`${g.url}/log-flood`);
    expect(await res.text()).toBe('flooded');
    const record = await lastRecord('log-flood');
    expect(record.status).toBe('ok');
    expect(record.logs).toContain('flood flood');
    expect(record.logs.length).toBeLessThan(90 * 1024);
    await expectPlatformFine();
  });
});

/** Cells of this platform holding a bundle with `marker`: their folder goes once their process exited. */
async function cellsHolding(marker: string): Promise<string[]> {
  const tmp = os.tmpdir();
  const runs = (await readdir(tmp)).filter((n) => n.startsWith(`gust-run-${g.proc.pid}-`));
  const found: string[] = [];
  for (const run of runs) {
    const cells = path.join(tmp, run, 'cells');
    for (const id of await readdir(cells).catch(() => [] as string[])) {
      const code = await readFile(path.join(cells, id, 'fn.mjs'), 'utf8').catch(() => '');
      if (code.includes(marker)) found.push(id);
    }
  }
  return found;
}

describe('a module that never finishes loading', () => {
  it.each(['stuck-loop', 'stuck-await'])(
    '%s answers 500 init failed within a bounded time, every time, and its cell is killed',
    async (name) => {
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const f = await callJson(`/${name}`);
        expect(performance.now() - t0).toBeLessThan(10_000);
        expect(f).toMatchObject({
          status: 500,
          error: { code: 'FUNCTION_ERROR' },
          record: { status: 'error' },
        });
        expect(f.record.error).toMatch(/init failed: the module did not finish loading within 2700 ms/);
      }
      await vi.waitFor(async () => expect(await cellsHolding(NEVER_LOADS_MARKER)).toEqual([]), WAIT);
      await expectPlatformFine();
    },
  );
});

describe('a response header that HTTP cannot carry', () => {
  it.each([
    ['price-lambda', /"x-price"/],
    ['price-web', /"x-note"/],
    ['price-stream', /"x-note"/],
  ])('%s is a function error (500) naming the header', async (name, header) => {
    const f = await callJson(`/${name}`);
    expect(f).toMatchObject({ status: 500, error: { code: 'FUNCTION_ERROR' }, record: { status: 'error' } });
    expect(f.record.error).toMatch(header);
    expect(f.error.message).toMatch(header);
    await expectPlatformFine();
  });
});

describe('a function whose bundle is gone', () => {
  it('ends as crashed (502) with a reason that names the bundle, and the platform carries on', async () => {
    const bundles = path.join(g.dataDir, 'bundles');
    for (const name of await readdir(bundles)) {
      const file = path.join(bundles, name);
      if ((await readFile(file, 'utf8')).includes(ORPHAN_MARKER)) await unlink(file);
    }
    const f = await callJson('/orphan');
    expect(f).toMatchObject({
      status: 502,
      error: { code: 'FUNCTION_CRASHED' },
      record: { status: 'crashed' },
    });
    expect(f.record.error).toMatch(/bundle could not be put in the instance: ENOENT/);
    await expectPlatformFine();
  });
});
