/**
 * Monthly budgets: a function past its `budget.gbSeconds` is refused before it runs, on every
 * path (its route, the control API, the Lambda API, its queued events: dead-lettered, not lost),
 * said in its records, metrics, `gust ls` and `gust usage`; the tally survives a restart, and a
 * deploy that raises or removes the budget lets calls through at once; a rollback or a deploy that
 * brings back a budget already used up says so.
 */
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  cli,
  deployProject,
  type Gust,
  type InvocationRecord,
  invoke,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

/**
 * At 1024 MB a call of 1 ms uses 0.001 GB-s, and the first call is a cold start (its init billed
 * too): it alone uses the budget up, and every call after it is refused.
 */
const project = (budget: string) => ({
  'gust.yaml': `
topics: [jobs, over-budget]
functions:
  tiny:
    handler: f.mjs
    memory: 1024
${budget}
    retries: { max: 2, backoff: 100ms, deadLetter: over-budget }
    triggers:
      - http: { path: /tiny }
      - topic: { name: jobs }
  free:
    handler: f.mjs
    triggers:
      - http: { path: /free }
  letters:
    handler: letters.mjs
    triggers:
      - topic: { name: over-budget }
  caller:
    handler: caller.mjs
    permissions: [function:tiny:invoke]
`,
  'caller.mjs': `export const handler = async (e, ctx) => {
  try { return { ran: await ctx.invoke('tiny', {}) }; }
  catch (err) { return { name: err.name, code: err.code, message: err.message }; }
};\n`,
  'f.mjs': `export default async () => new Response('ran');\n`,
  'letters.mjs': `export const handler = async (e) => { console.log('letter ' + JSON.stringify(e.data)); };\n`,
});
const TINY = '    budget: { gbSeconds: 0.001 }';

const MONTH = /\d{4}-\d{2}-01/;
const REFUSAL =
  /^tiny has used its monthly budget of 0\.001 GB-s \([\d.]+ GB-s since (\d{4}-\d{2}-01)\); raise budget\.gbSeconds in gust\.yaml or wait until (\d{4}-\d{2}-01)$/;

let g: Gust;
let dataDir = '';
const clients: LambdaClient[] = [];

beforeAll(async () => {
  g = await startGust();
  dataDir = g.dataDir;
  await deployProject(g, project(TINY));
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await g?.stop();
});

const get = (path: string) => fetch(`${g.url}${path}`);

async function scrape(): Promise<string> {
  const res = await fetch(`${g.url}/_gust/metrics`, { headers: { authorization: `Bearer ${g.key}` } });
  return res.text();
}

/** The value of a sample by its exact text before the value, as `name{function="tiny"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('a monthly budget', () => {
  it('refuses calls once the month used it: 429 BUDGET_EXCEEDED saying what, since and until when', async () => {
    const first = await get('/tiny');
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('ran');
    const refused = await get('/tiny');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-gust-status')).toBe('rejected');
    const body = (await refused.json()) as { error: { code: string; message: string; invocationId: string } };
    expect(body.error.code).toBe('BUDGET_EXCEEDED');
    const [, since, until] = REFUSAL.exec(body.error.message) ?? [];
    expect(since, body.error.message).toMatch(MONTH);
    // a client may come back when the month turns, not before
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Date.now() + retryAfter * 1000).toBeGreaterThanOrEqual(Date.parse(`${until}T00:00:00Z`));
    expect(Date.now() + (retryAfter - 2) * 1000).toBeLessThan(Date.parse(`${until}T00:00:00Z`));
    // a function without a budget is not touched
    expect((await get('/free')).status).toBe(200);

    // its record says so, and `gust invocations --status rejected` lists it
    const [record] = await records(g, 'tiny', 1);
    expect(record).toMatchObject({
      id: body.error.invocationId,
      status: 'rejected',
      trigger: 'http',
      version: 1,
      instance: null,
      billedMs: 0,
      gbSeconds: 0,
      error: body.error.message,
    });
    const listed = await cli(g, ['invocations', 'tiny', '--status', 'rejected', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { invocations: InvocationRecord[] };
    expect(page.invocations.map((r) => r.id)).toContain(body.error.invocationId);

    // the control API's invoke answers its record and the code
    const viaApi = await invoke(g, 'tiny', {});
    expect(viaApi.body.error).toMatchObject({ code: 'BUDGET_EXCEEDED', message: body.error.message });
    expect(viaApi.body.invocation.status).toBe('rejected');
  });

  it('answers the Lambda Invoke API as AWS answers a capped function: TooManyRequestsException, with its Reason', async () => {
    const { body: key } = await api<{ accessKeyId: string; secretAccessKey: string }>(g, 'POST', '/keys', {
      scope: 'invoke',
      function: 'tiny',
    });
    const lambda = new LambdaClient({
      endpoint: g.url,
      region: 'us-east-1',
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(lambda);
    const failure = await lambda.send(new InvokeCommand({ FunctionName: 'tiny' })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TooManyRequestsException);
    expect((failure as TooManyRequestsException).Reason).toBe('BudgetExceeded');
    expect((failure as Error).message).toMatch(REFUSAL);
  });

  it('dead-letters a queued event it refuses, at its first attempt, and records why', async () => {
    const published = await cli(g, ['publish', 'jobs', '--data', '{"order":7}', '--json']);
    expect(published.code, published.stderr).toBe(0);
    let letter:
      | { invocationId: string; attempts: number; error: { status: string; message: string } }
      | undefined;
    await vi.waitFor(async () => {
      const logs = (await records(g, 'letters')).map((r) => r.logs).join('');
      const json = /letter (\{.*\})$/m.exec(logs)?.[1];
      expect(json).toBeDefined();
      letter = JSON.parse(json!);
    }, WAIT);
    expect(letter).toMatchObject({ attempts: 1, error: { status: 'rejected' } });
    expect(letter!.error.message).toMatch(REFUSAL);
    // one record for it: no retry was burnt on a refusal that would come again
    const mine = (await records(g, 'tiny')).filter((r) => r.id === letter!.invocationId);
    expect(mine.map((r) => [r.trigger, r.attempt, r.status])).toEqual([['topic', 1, 'rejected']]);
  });

  it('is shown by gust ls, gust usage, the function view and the metrics', async () => {
    const fn = await api<{ budget: Record<string, unknown> | null }>(g, 'GET', '/functions/tiny');
    expect(fn.body.budget).toMatchObject({ function: 'tiny', gbSeconds: 0.001, exceeded: true });
    expect(fn.body.budget!.used).toBeGreaterThanOrEqual(0.001);
    expect((await api<{ budget: unknown }>(g, 'GET', '/functions/free')).body.budget).toBeNull();

    const ls = await cli(g, ['ls']);
    expect(ls.stdout).toMatch(/BUDGET \d{4}-\d{2}/);
    expect(ls.stdout).toMatch(/tiny .*[\d.]+\/0\.001 GB-s \(used up\)/);
    const usage = await cli(g, ['usage', '--since', '1h']);
    expect(usage.code, usage.stderr).toBe(0);
    expect(usage.stdout).toMatch(/^tiny .*[\d.]+\/0\.001 GB-s \(used up\)$/m);
    expect(usage.stdout).toMatch(/^free .* -$/m);
    // costs of a few calls at Lambda's prices are millionths of a dollar: written out, never 4.2e-7
    expect(usage.stdout).toMatch(/^tiny .* \$0\.0000+[1-9]\d\d /m);
    expect(usage.stdout).not.toMatch(/\de-\d/);

    const text = await scrape();
    expect(sample(text, 'gust_budget_gb_seconds{function="tiny"}')).toBe(0.001);
    expect(sample(text, 'gust_budget_used_gb_seconds{function="tiny"}')).toBe(fn.body.budget!.used);
    // the route's refusal, the control API's, the Lambda API's and the queued event's
    expect(sample(text, 'gust_budget_rejections_total{function="tiny"}')).toBe(4);
    expect(sample(text, 'gust_budget_gb_seconds{function="free"}')).toBeUndefined();
    expect(sample(text, 'gust_invocations_total{function="tiny",trigger="http",status="rejected"}')).toBe(1);
  });

  it('is still used up after a restart: the tally is read back from the usage rollup', async () => {
    expect(await g.stop()).toBe(0);
    g = await startGust({ dataDir });
    const refused = await get('/tiny');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('BUDGET_EXCEEDED');
  });

  it('makes ctx.invoke throw an InvokeError whose code is BUDGET_EXCEEDED', async () => {
    const { body } = await invoke(g, 'caller', {});
    const thrown = body.result as { name: string; code: string; message: string };
    expect(thrown).toMatchObject({ name: 'InvokeError', code: 'BUDGET_EXCEEDED' });
    expect(thrown.message).toMatch(
      /^tiny \(invocation \S+\) ended rejected: tiny has used its monthly budget/,
    );
  });

  it('lets calls through at once when a deploy raises it, and when a deploy removes it', async () => {
    await deployProject(g, project('    budget: { gbSeconds: 1000 }'));
    expect((await get('/tiny')).status).toBe(200);
    const fn = await api<{ budget: { gbSeconds: number; exceeded: boolean } }>(g, 'GET', '/functions/tiny');
    expect(fn.body.budget).toMatchObject({ gbSeconds: 1000, exceeded: false });
    await deployProject(g, project(TINY));
    expect((await get('/tiny')).status).toBe(429);
    await deployProject(g, project(''));
    expect((await get('/tiny')).status).toBe(200);
    expect((await api<{ budget: unknown }>(g, 'GET', '/functions/tiny')).body.budget).toBeNull();
  });

  it('warns when a rollback or a deploy brings back a budget already used up, and says how to undo it', async () => {
    // v1 and v3 have the tiny budget, v2 1000 GB-s, v4 (active) none; this month used it up
    const back = await cli(g, ['rollback', 'tiny', '3']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('tiny  v3  active\n');
    expect(back.stderr).toMatch(
      /^warning: tiny v3's budget is 0\.001 GB-s and [\d.]+ GB-s were used this month: its calls will be refused until \d{4}-\d{2}-01; deploy a higher budget\.gbSeconds or roll back to v4 \(gust rollback tiny 4\)$/m,
    );
    expect((await get('/tiny')).status).toBe(429);
    // the API's answer says what changed; --json prints it, without the warning line
    const json = await cli(g, ['rollback', 'tiny', '4', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: 'tiny',
      version: 4,
      previous: 3,
      budget: {
        from: 0.001,
        to: null,
        fromVersion: 3,
        refused: false,
        resetsAt: expect.stringMatching(MONTH),
      },
    });
    expect(json.stderr).not.toContain('warning');
    expect((await get('/tiny')).status).toBe(200);
    // each version's budget, to choose one with
    const versions = await cli(g, ['versions', 'tiny']);
    expect(versions.stdout).toMatch(/^\s+v2 .*\s1000 GB-s$/m);
    expect(versions.stdout).toMatch(/^\s+v3 .*\s0\.001 GB-s$/m);
    expect(versions.stdout).toMatch(/^\* v4 .*\s-$/m);
    expect(versions.stdout).toMatch(
      /^[\d.]+ GB-s used in \d{4}-\d{2} \(UTC\); the active version's budget applies to every call$/m,
    );

    // a deploy that sets a budget under what was used: the same warning, and the API's answer
    const dir = await writeProject(project(TINY));
    const deployed = await cli(g, ['deploy', dir]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^tiny\s+v5\s+deployed$/m);
    expect(deployed.stderr).toMatch(
      /^warning: tiny v5's budget is 0\.001 GB-s and [\d.]+ GB-s were used this month: its calls will be refused until \d{4}-\d{2}-01; deploy a higher budget\.gbSeconds or roll back to v4 \(gust rollback tiny 4\)$/m,
    );
    expect(deployed.stderr.match(/^warning:/gm)).toHaveLength(1); // free and letters have no budget
    const raised = await cli(g, [
      'deploy',
      await writeProject(project('    budget: { gbSeconds: 1000 }')),
      '--json',
    ]);
    const answer = JSON.parse(raised.stdout) as { functions: { name: string; budget?: unknown }[] };
    expect(answer.functions.find((f) => f.name === 'tiny')?.budget).toMatchObject({
      from: 0.001,
      to: 1000,
      fromVersion: 5,
      refused: false,
    });
    expect(answer.functions.find((f) => f.name === 'free')).not.toHaveProperty('budget');
  });
});
