/**
 * Error stacks as an author reads them: source-mapped to the TypeScript they wrote, with paths
 * relative to their project, without the platform's folders or the sandbox runtime's frames; kept
 * in the invocation record (also for a module that throws while it loads) and shown by the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, deployProject, type Gust, type InvocationRecord, startGust } from '../helpers/gust.js';

// Types and blank lines before each throw: a line number that survived unmapped would differ.
const PRICE = `import type { Context } from 'gust';

interface Sku {
  readonly code: string;
}

function lookUp(sku: Sku): number {
  throw new Error(\`no price for \${sku.code}\`);
}

export default async function (_req: Request, ctx: Context): Promise<Response> {
  const price: number = lookUp({ code: ctx.params.sku ?? '' });
  return Response.json({ price });
}
`;

const BROKEN = `type Settings = { readonly url?: string };

const settings: Settings = {};
console.log('connecting');
if (settings.url === undefined) throw new Error('no database at startup');

export default async (): Promise<Response> => new Response('fine');
`;

const LOGGED = `export default async function (): Promise<Response> {
  try {
    const order: { id: string } = JSON.parse('{not json');
    return Response.json(order);
  } catch (err) {
    console.error('could not read the order:', err);
  }
  return new Response('logged');
}
`;

const SHOUTY = `'use strict';
module.exports = function shout(text) {
  if (text === '') throw new TypeError('nothing to shout');
  return text.toUpperCase() + '!';
};
`;

const PADDED = `import shout from 'shouty';

export default async function (): Promise<Response> {
  const text: string = '';
  return new Response(shout(text));
}
`;

const route = (name: string, path = `/${name}`) =>
  `  ${name}:\n    handler: src/${name}.ts\n    triggers:\n      - http: { path: ${path} }\n`;

/** What must never show in a stack an author reads: the platform's folders and Gust's own frames. */
const INTERNALS = /gust-run-|\/cells\/|fn\.mjs|main\.js|logs\.js|node:internal|node:events/;

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `functions:\n${route('price', '/price/:sku')}${route('broken')}${route('logged')}${route('padded')}`,
    'src/price.ts': PRICE,
    'src/broken.ts': BROKEN,
    'src/logged.ts': LOGGED,
    'src/padded.ts': PADDED,
    'node_modules/shouty/package.json': JSON.stringify({ name: 'shouty', main: 'index.js' }),
    'node_modules/shouty/index.js': SHOUTY,
  });
});

afterAll(async () => {
  await g?.stop();
});

/** Calls a route and returns the record of that call. */
async function call(path: string): Promise<{ status: number; record: InvocationRecord }> {
  const res = await fetch(`${g.url}${path}`);
  await res.arrayBuffer();
  const id = res.headers.get('x-gust-invocation-id');
  const record = await api<InvocationRecord>(g, 'GET', `/invocations/${id}`);
  expect(record.status).toBe(200);
  return { status: res.status, record: record.body };
}

describe('the stack of a failed invocation', () => {
  it('names the TypeScript file and line that threw, relative to the project, and nothing of the platform', async () => {
    const { status, record } = await call('/price/A-1');
    expect(status).toBe(500);
    expect(record).toMatchObject({ status: 'error', error: 'Error: no price for A-1' });
    const stack = record.stack ?? '';
    expect(stack.split('\n')[0]).toBe('Error: no price for A-1');
    expect(stack).toMatch(/^ {4}at lookUp \(src\/price\.ts:8:\d+\)$/m);
    expect(stack).toMatch(/^ {4}at .*\(src\/price\.ts:12:\d+\)$/m);
    expect(stack).not.toMatch(INTERNALS);
  });

  it('names the file and line inside an npm dependency, under the author frame that called it', async () => {
    const { record } = await call('/padded');
    const frames = (record.stack ?? '').split('\n').slice(1);
    expect(record.error).toBe('TypeError: nothing to shout');
    // esbuild may rename the function (shout2): V8 names frames after the bundle.
    expect(frames[0]).toMatch(/^ {4}at shout\d* \(node_modules\/shouty\/index\.js:3:\d+\)$/);
    expect(frames[1]).toMatch(/\(src\/padded\.ts:5:\d+\)$/);
    expect(record.stack).not.toMatch(INTERNALS);
  });

  it('is as clean in the logs when the function prints the error itself', async () => {
    const { status, record } = await call('/logged');
    expect(status).toBe(200);
    expect(record.stack).toBeNull();
    expect(record.logs).toContain('could not read the order: SyntaxError:');
    expect(record.logs).toMatch(/^ {4}at .*\(src\/logged\.ts:3:\d+\)$/m);
    expect(record.logs).not.toMatch(INTERNALS);
  });
});

describe('a module that throws while it loads', () => {
  it('gives the call that started the instance a record with the error and its stack at the top-level line', async () => {
    const { status, record } = await call('/broken');
    expect(status).toBe(500);
    expect(record).toMatchObject({
      status: 'error',
      cold: true,
      error: 'Error: init failed: no database at startup',
    });
    expect(record.logs).toContain('connecting');
    expect(record.stack).toMatch(/^Error: no database at startup\n {4}at src\/broken\.ts:5:\d+$/m);
    expect(record.stack).not.toMatch(INTERNALS);
  });

  it('gust invoke names the invocation, and gust logs --invocation shows its lines, error and stack', async () => {
    const invoked = await cli(g, ['invoke', 'broken']);
    expect(invoked.code).toBe(1);
    expect(invoked.stderr).toContain('connecting');
    const hint = /init failed: no database at startup \(see `gust logs broken --invocation (\S+)`\)/.exec(
      invoked.stderr,
    );
    expect(hint, invoked.stderr).not.toBeNull();
    const id = hint![1]!;

    const logs = await cli(g, ['logs', 'broken', '--invocation', id]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${id} {2}\\S+\\tINFO\\tconnecting$`));
    expect(lines[1]).toBe(`${id}  error: Error: init failed: no database at startup`);
    expect(lines[2]).toMatch(new RegExp(`^${id} {2} {4}at src/broken\\.ts:5:\\d+$`));
    expect(lines).toHaveLength(3);

    const json = await cli(g, ['logs', 'broken', '--invocation', id, '--json']);
    const [entry] = (JSON.parse(json.stdout) as { logs: Record<string, unknown>[] }).logs;
    expect(entry).toMatchObject({
      invocation: id,
      status: 'error',
      error: 'Error: init failed: no database at startup',
      stack: expect.stringMatching(/src\/broken\.ts:5:/),
    });
  });
});

describe('the CLI shows where a call failed', () => {
  it('gust invocations puts the first frame of the author code beside the error, and --json has the stack', async () => {
    await call('/price/B-2');
    const table = await cli(g, ['invocations', 'price', '--limit', '1']);
    expect(table.code).toBe(0);
    const [head, row] = table.stdout.split('\n');
    expect(head).toMatch(/\bAT\s+DENIED\s+ERROR$/);
    expect(row).toMatch(/\berror\b.*src\/price\.ts:8:\d+\s+Error: no price for B-2$/);

    const json = await cli(g, ['invocations', 'price', '--limit', '1', '--json']);
    const [record] = (JSON.parse(json.stdout) as { invocations: InvocationRecord[] }).invocations;
    expect(record?.stack).toMatch(/^ {4}at lookUp \(src\/price\.ts:8:\d+\)$/m);
  });

  it('gust logs prints, after the lines of each failed call, its error and stack', async () => {
    await call('/price/C-3');
    const logs = await cli(g, ['logs', 'price']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(
      /^\S+ {2}error: Error: no price for C-3\n\S+ {2} {4}at lookUp \(src\/price\.ts:8:\d+\)$/m,
    );
  });
});
