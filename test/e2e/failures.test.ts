import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  cli,
  deployProject,
  type Gust,
  type InvocationRecord,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

/**
 * Each misbehaving function fails only when asked (`?fail=1`), so that the next call to the same
 * function shows that the platform recovered: the answer is 200 'fine'.
 */
const failing = (body: string) => `
export default async function (req: Request): Promise<Response> {
  if (new URL(req.url).searchParams.get('fail') === '1') {
${body}
  }
  return new Response('fine');
}
`;

const FUNCTIONS: Record<string, { extra: string; body: string }> = {
  sleepy: {
    // Here and below, calls start instances within their timeout: 10 s, room for a loaded machine.
    extra: 'timeout: 10s',
    body: `console.log('waiting for a reply that never comes');
    await new Promise((r) => setTimeout(r, 20_000));`,
  },
  spin: {
    extra: 'timeout: 10s',
    body: `console.log('spinning');
    while (true) {}`,
  },
  hog: {
    extra: 'memory: 64',
    body: `console.log('allocating');
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(100_000).fill(hoard.length));`,
  },
  quitter: {
    extra: 'timeout: 10s',
    body: `console.log('about to exit');
    process.exit(3);`,
  },
  rejecter: {
    extra: 'timeout: 10s',
    body: `console.log('about to reject');
    void Promise.reject(new Error('boom'));
    await new Promise(() => {});`,
  },
  thrower: {
    extra: 'timeout: 10s',
    body: `throw new Error('the order 42 has no lines');`,
  },
  pair: {
    extra: 'timeout: 10s\n    concurrency: 2',
    body: `if (new URL(req.url).searchParams.get('loop') === '1') while (true) {}
    await new Promise((r) => setTimeout(r, 30_000));`,
  },
  chatty: {
    extra: 'timeout: 10s',
    body: `for (let i = 0; i < 2000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100));
    return new Response('said a lot');`,
  },
};

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  const files: Record<string, string> = {};
  let yaml = 'functions:\n';
  for (const [name, { extra, body }] of Object.entries(FUNCTIONS)) {
    yaml += `  ${name}:\n    handler: src/${name}.ts\n    ${extra}\n    triggers:\n      - http: { path: /${name} }\n`;
    files[`src/${name}.ts`] = failing(body);
  }
  yaml += '  other:\n    handler: src/other.ts\n    triggers:\n      - http: { path: /other }\n';
  files['src/other.ts'] = `export default async () => new Response('other is fine');`;
  await deployProject(g, { 'gust.yaml': yaml, ...files });
});

afterAll(async () => {
  await g?.stop();
});

interface Failure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly record: InvocationRecord;
}

/** Calls a function route that must fail, and returns the error answer with its record. */
async function callFailing(path: string): Promise<Failure> {
  const res = await fetch(`${g.url}${path}`);
  const body = (await res.json()) as { error: { code: string; message: string; invocationId: string } };
  expect(body.error.invocationId).toBe(res.headers.get('x-gust-invocation-id'));
  const record = await api<InvocationRecord>(g, 'GET', `/invocations/${body.error.invocationId}`);
  expect(record.status).toBe(200);
  return { status: res.status, code: body.error.code, message: body.error.message, record: record.body };
}

async function expectFine(name: string): Promise<void> {
  const res = await fetch(`${g.url}/${name}`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('fine');
}

describe('a failing invocation ends with a clear status, and the next one works', () => {
  it('a handler that awaits past its timeout ends as timeout (504), keeping what it logged', async () => {
    const f = await callFailing('/sleepy?fail=1');
    expect(f).toMatchObject({ status: 504, code: 'FUNCTION_TIMEOUT', record: { status: 'timeout' } });
    expect(f.record.error).toMatch(/timeout of 10000 ms/);
    expect(f.record.logs).toContain('waiting for a reply that never comes');
    await expectFine('sleepy');
  });

  it('an infinite loop ends as timeout (504) while the platform and other functions keep answering', async () => {
    const looping = callFailing('/spin?fail=1');
    // its instance is up, so the call is on it, looping
    await vi.waitFor(async () => {
      expect((await api<{ instances: number }>(g, 'GET', '/functions/spin')).body.instances).toBe(1);
    }, WAIT);
    const t0 = performance.now();
    const health = await fetch(`${g.url}/_gust/healthz`);
    const healthMs = performance.now() - t0;
    expect(health.status).toBe(200);
    // not held up by the loop (a blocked platform would answer after its 10 s timeout); room for load
    expect(healthMs).toBeLessThan(2000);
    const other = await fetch(`${g.url}/other`);
    expect(other.status).toBe(200);
    expect(await other.text()).toBe('other is fine');

    const f = await looping;
    expect(f).toMatchObject({ status: 504, code: 'FUNCTION_TIMEOUT', record: { status: 'timeout' } });
    expect(f.record.logs).toContain('spinning');
    await expectFine('spin');
  });

  it('a timeout stops the instance: another invocation running on it ends as crashed (502)', async () => {
    const looping = callFailing('/pair?fail=1&loop=1');
    // A head start: the looping call's timeout comes 1 s before the second call's own.
    await new Promise((r) => setTimeout(r, 1000));
    const sharing = callFailing('/pair?fail=1');
    const [timedOut, crashed] = await Promise.all([looping, sharing]);
    expect(timedOut).toMatchObject({ status: 504, record: { status: 'timeout' } });
    expect(crashed).toMatchObject({ status: 502, code: 'FUNCTION_CRASHED', record: { status: 'crashed' } });
    expect(crashed.record.instance).toBe(timedOut.record.instance);
    expect(crashed.record.error).toMatch(/another invocation on it timed out/);
    await expectFine('pair');
  });

  it('running out of memory ends as crashed (502) with an error that says so', async () => {
    const f = await callFailing('/hog?fail=1');
    expect(f).toMatchObject({
      status: 502,
      code: 'FUNCTION_CRASHED',
      record: { status: 'crashed', memoryMb: 64 },
    });
    expect(f.record.error).toMatch(/memory/i);
    expect(f.message).toMatch(/memory/i);
    expect(f.record.logs).toContain('allocating');
    await expectFine('hog');
  });

  it('process.exit ends as crashed (502), keeping what it logged', async () => {
    const f = await callFailing('/quitter?fail=1');
    expect(f).toMatchObject({ status: 502, code: 'FUNCTION_CRASHED', record: { status: 'crashed' } });
    expect(f.record.error).toMatch(/code 3/);
    expect(f.record.logs).toContain('about to exit');
    await expectFine('quitter');
  });

  it('an unhandled rejection ends as crashed (502) with an error that names it', async () => {
    const f = await callFailing('/rejecter?fail=1');
    expect(f).toMatchObject({ status: 502, code: 'FUNCTION_CRASHED', record: { status: 'crashed' } });
    expect(f.record.error).toMatch(/boom/);
    expect(f.record.logs).toContain('about to reject');
    await expectFine('rejecter');
  });

  it('a thrown error ends as error (500) with its message in the record', async () => {
    const f = await callFailing('/thrower?fail=1');
    expect(f).toMatchObject({ status: 500, code: 'FUNCTION_ERROR', record: { status: 'error' } });
    expect(f.record.error).toBe('Error: the order 42 has no lines');
    expect(f.message).toContain('the order 42 has no lines');
    await expectFine('thrower');
  });
});

describe('a function that cannot load', () => {
  it('a module that throws at load ends as error (500) saying init failed, until a fixed version is deployed', async () => {
    const broken = `console.log('connecting'); throw new Error('no database at startup');\nexport default async () => new Response('fine');\n`;
    const yaml =
      'functions:\n  broken:\n    handler: src/broken.ts\n    triggers:\n      - http: { path: /broken }\n';
    await deployProject(g, { 'gust.yaml': yaml, 'src/broken.ts': broken });
    for (let i = 0; i < 2; i++) {
      const f = await callFailing('/broken');
      expect(f).toMatchObject({
        status: 500,
        code: 'FUNCTION_ERROR',
        record: { status: 'error', cold: true },
      });
      expect(f.record.error).toMatch(/init failed: no database at startup/);
      expect(f.record.logs).toContain('connecting');
    }
    await deployProject(g, {
      'gust.yaml': yaml,
      'src/broken.ts': `export default async () => new Response('fine');\n`,
    });
    await expectFine('broken');
  });

  it('a module without a handler function is refused at deploy, or fails at load with a clear error', async () => {
    const yaml =
      'functions:\n  nohandler:\n    handler: src/nohandler.ts\n    triggers:\n      - http: { path: /nohandler }\n';
    const refused = await cli(g, [
      'deploy',
      await writeProject({ 'gust.yaml': yaml, 'src/nohandler.ts': 'export const x = 1;\n' }),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/neither a default function nor `handler`/);

    // An export of that name that is not a function passes the bundler; loading says what is wrong.
    await deployProject(g, { 'gust.yaml': yaml, 'src/nohandler.ts': 'export const handler = 42;\n' });
    const f = await callFailing('/nohandler');
    expect(f).toMatchObject({ status: 500, code: 'FUNCTION_ERROR', record: { status: 'error' } });
    expect(f.record.error).toMatch(
      /init failed: .*neither a default function .*nor a function named "handler"/,
    );
  });
});

describe('logs', () => {
  it('console output past 64 KiB is truncated with a marker and the invocation still succeeds', async () => {
    const res = await fetch(`${g.url}/chatty?fail=1`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('said a lot');
    const record = await api<InvocationRecord>(
      g,
      'GET',
      `/invocations/${res.headers.get('x-gust-invocation-id')}`,
    );
    expect(record.body.status).toBe('ok');
    expect(record.body.logs).toContain('line 0 ');
    expect(record.body.logs).toContain('[gust: log truncated at 64 KiB]');
    expect(record.body.logs).not.toContain('line 1999 ');
    expect(record.body.logs.length).toBeLessThan(70 * 1024);
  });
});
