/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core): it asks for a
 * key and refuses a bad one, lists the functions, shows a function's invocations, charts, live logs
 * and deploys (rollback included, warned of a budget it brings back), and an invocation's logs and
 * timing; calls that never ran say so and stay out of the charts. A screenshot of each page goes to
 * test-results/. Without Chromium the file is skipped, saying why, except in CI.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chromiumMissing, launchChromium } from '../helpers/chromium.mjs';
import { api, deployProject, type Gust, invoke, ROOT, records, startGust, WAIT } from '../helpers/gust.js';

const missing = chromiumMissing();
if (missing && process.env.CI === 'true') throw new Error(`the dashboard test must run in CI: ${missing}`);
if (missing) console.warn(`skipping the dashboard test: ${missing}`);

const SHOTS = path.join(ROOT, 'test-results');

const project = (greeting: string) => ({
  'gust.yaml': `functions:
  greet:
    handler: greet.mjs
    env: { GREETING: "${greeting}" }
    budget: { gbSeconds: 1000 }
    triggers:
      - http: { path: /greet }
      - topic: { name: greetings }
  boom:
    handler: boom.mjs
    triggers:
      - http: { path: /boom }
  relay:
    handler: relay.mjs
    permissions: [function:echo:invoke]
    triggers:
      - http: { path: /relay }
  echo:
    handler: relay.mjs#echo
  spender:
    handler: relay.mjs#echo
    memory: 1024
    budget: { gbSeconds: ${greeting === 'v1' ? 0.001 : 1000} }
  idle:
    handler: relay.mjs#echo
    budget: { gbSeconds: 5 }
topics: [greetings]
`,
  'relay.mjs': `export default async (req, ctx) => Response.json(await ctx.invoke('echo', { n: 1 }));
export const echo = async (event) => ({ echoed: event });
`,
  'greet.mjs': `export default async (req, ctx) => {
  console.log('hello from greet', ctx.env.GREETING);
  return new Response(ctx.env.GREETING);
};
`,
  'boom.mjs': `export default async () => {
  console.log('about to fail');
  throw new Error('boom failed on purpose');
};
`,
});

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, project('v1'));
  await deployProject(g, project('v2'));
  for (let i = 0; i < 5; i++) expect((await fetch(`${g.url}/greet`)).status).toBe(200);
  expect((await fetch(`${g.url}/boom`)).status).toBe(500);
  expect(await (await fetch(`${g.url}/relay`)).json()).toEqual({ echoed: { n: 1 } });
  // at 1024 MB, one call uses all of v1's budget (0.001 GB-s) but little of v2's (1000)
  expect((await invoke(g, 'spender', {})).body.invocation.status).toBe('ok');
});

afterAll(() => g?.stop());

describe('the read-only endpoints the dashboard reads', () => {
  it('give latency percentiles and cold starts per step of a window', async () => {
    const r = await api<{
      points: { count: number; coldRatio: number | null; p50: number | null }[];
      looked: number;
      complete: boolean;
    }>(g, 'GET', '/functions/greet/latency?since=1h&steps=12');
    expect(r.status).toBe(200);
    expect(r.body.points).toHaveLength(12);
    expect(r.body.looked).toBe(5);
    expect(r.body.complete).toBe(true);
    const busy = r.body.points.filter((p) => p.count > 0);
    expect(busy.reduce((n, p) => n + p.count, 0)).toBe(5);
    expect(busy.every((p) => p.p50 !== null && p.coldRatio !== null)).toBe(true);
  });

  it('refuse a window longer than 7 days or a function never deployed', async () => {
    expect((await api(g, 'GET', '/functions/greet/latency?since=8d')).status).toBe(400);
    expect((await api(g, 'GET', '/functions/nobody/latency')).status).toBe(404);
    expect((await api(g, 'GET', '/functions/nobody/queue')).status).toBe(404);
  });

  it('give the depth of a function queue', async () => {
    const r = await api(g, 'GET', '/functions/greet/queue');
    expect(r.body).toEqual({ function: 'greet', waiting: 0, leased: 0, oldestMs: 0 });
  });

  it('list every trigger of a function', async () => {
    const r = await api<{ triggers: string[] }>(g, 'GET', '/functions/greet');
    expect(r.body.triggers).toEqual(['http ANY /greet', 'topic greetings']);
  });
});

describe.skipIf(missing !== undefined)('dashboard', () => {
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let page: Page;
  /** What each confirm() asked, in order (each is accepted). */
  const asked: string[] = [];

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    browser.context.setDefaultTimeout(WAIT.timeout);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
  });

  afterAll(() => browser?.close());

  const shot = (name: string) =>
    page.screenshot({ path: path.join(SHOTS, `dashboard-${name}.png`), fullPage: true });

  it('refuses a bad key with a message that says so, in the page', async () => {
    await page.goto(`${g.url}/_gust/ui`);
    await page.getByLabel('API key').fill('gust_nope_nope');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^This key was refused: the key is not valid/);
    await shot('key-refused');
  });

  it('refuses a bad key sent as a header with a page, not the dashboard', async () => {
    const res = await fetch(`${g.url}/_gust/ui`, { headers: { authorization: 'Bearer gust_nope_nope' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('The key sent with this request was refused');
  });

  it('loads with a key and lists the functions with their triggers', async () => {
    await page.getByLabel('API key').fill(g.key);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByRole('link', { name: 'greet', exact: true }).waitFor();
    await page.getByRole('link', { name: 'boom', exact: true }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'greet', exact: true }) });
    expect(await row.textContent()).toContain('topic greetings');
    expect(await row.textContent()).toContain('v2');
    await shot('functions');
  });

  it('keeps the key for the tab: a reload opens the dashboard without asking again', async () => {
    await page.reload();
    await page.getByRole('link', { name: 'greet', exact: true }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
  });

  it('shows a function with its last invocations, charts, live logs and usage', async () => {
    await page.getByRole('link', { name: 'greet', exact: true }).click();
    await page.getByRole('heading', { name: 'Function greet' }).waitFor();
    const calls = await records(g, 'greet');
    // every invocation is listed, and the cold one says so
    await vi.waitFor(async () => {
      expect(await page.getByRole('link', { name: /^Invocation / }).count()).toBe(calls.length);
    }, WAIT);
    // uPlot draws on canvases: two charts, each with its summary of the calls
    await page.locator('.chart canvas').nth(1).waitFor();
    const latency = page.getByRole('img', { name: /^Latency/ });
    expect(await latency.getAttribute('aria-label')).toContain(`${calls.length} calls`);
    const cold = page.getByRole('img', { name: /^Cold starts/ });
    expect(await cold.getAttribute('aria-label')).toMatch(/\d+% of \d+ calls started cold/);
    const logs = page.getByRole('log', { name: 'Logs of greet' });
    await vi.waitFor(async () => expect(await logs.textContent()).toContain('hello from greet v2'), WAIT);
    const usage = page.getByRole('region', { name: 'Usage and cost, last 24 hours' });
    await vi.waitFor(
      async () => expect(await usage.textContent()).toContain(`${calls.length} (0 failed)`),
      WAIT,
    );
    // its monthly budget, and what this month used of it
    const now = page.getByRole('region', { name: 'Now' });
    expect(await now.textContent()).toMatch(/Budget, \d{4}-\d{2}[\d.e-]+ of 1000 GB-s/);
    await shot('function');
  });

  it('rolls a function back from its deploy history', async () => {
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await vi.waitFor(async () =>
      expect(await page.getByRole('status').textContent()).toBe('greet now runs v1.'),
    );
    // both versions have the same budget: nothing more to say
    expect(asked.at(-1)).toBe('Make v1 the active version of greet?');
    expect((await api<{ version: number }>(g, 'GET', '/functions/greet')).body.version).toBe(1);
    expect(await (await fetch(`${g.url}/greet`)).text()).toBe('v1');
  });

  it('says before a rollback that the budget it brings back is used up, and its refused calls never ran', async () => {
    await page.goto(`${g.url}/_gust/ui#/functions/spender`);
    const history = page.getByRole('region', { name: 'Deploy history' });
    await history.getByRole('button', { name: 'Roll back to v1' }).waitFor();
    const budgetOf = (v: string) =>
      history.getByRole('row').filter({ has: page.getByRole('rowheader', { name: v, exact: true }) });
    expect(await budgetOf('v1').textContent()).toContain('0.001 GB-s');
    expect(await budgetOf('v2').textContent()).toContain('1000 GB-s');
    await history.getByRole('button', { name: 'Roll back to v1' }).click();
    await vi.waitFor(async () =>
      expect(await history.getByRole('status').textContent()).toBe('spender now runs v1.'),
    );
    expect(asked.at(-1)).toMatch(
      /^Make v1 the active version of spender\?\n\nv1's budget is 0\.001 GB-s a month \(v2's: 1000 GB-s\) and [\d.]+ GB-s were used this month: its calls will be refused until \d{4}-\d{2}-01\.$/,
    );
    const refused = await invoke(g, 'spender', {});
    expect(refused.body.error?.code).toBe('BUDGET_EXCEEDED');

    // in the list, the refused call did not run (not "warm"); the one that ran started cold
    await page.reload();
    const recent = page.getByRole('region', { name: 'Last invocations' });
    const row = (id: string) =>
      recent.getByRole('row').filter({ has: page.getByRole('link', { name: `Invocation ${id}` }) });
    const [ran] = (await records(g, 'spender')).filter((r) => r.status === 'ok');
    await row(refused.body.invocation.id).waitFor();
    expect(await row(refused.body.invocation.id).getByRole('cell').nth(2).textContent()).toBe('did not run');
    expect(await row(ran!.id).getByRole('cell').nth(2).textContent()).toBe('cold');
    // the charts count the call that ran, and say apart the one that did not
    await page.locator('.chart canvas').nth(1).waitFor();
    const latency = page.getByRole('img', { name: /^Latency/ });
    await vi.waitFor(async () => {
      expect(await latency.getAttribute('aria-label')).toMatch(
        /1 call; p99 from [\d.]+ ms to [\d.]+ ms\. 1 more call never ran \(throttled or refused\): not counted\.$/,
      );
    }, WAIT);
    const cold = page.getByRole('img', { name: /^Cold starts/ });
    expect(await cold.getAttribute('aria-label')).toMatch(
      /100% of 1 call started cold\. 1 more call never ran/,
    );
    await shot('function-refused');

    await row(refused.body.invocation.id).getByRole('link').click();
    const record = page.getByRole('region', { name: 'Record' });
    await record.getByText('did not run', { exact: true }).waitFor();
    expect(await record.textContent()).toContain('nothing: it did not run');
  });

  it('opens an invocation with its logs, error and timing as a waterfall', async () => {
    const [failed] = await records(g, 'boom');
    await page.goto(`${g.url}/_gust/ui#/functions/boom`);
    await page.getByRole('link', { name: `Invocation ${failed!.id}` }).click();
    await page.getByRole('heading', { name: `Invocation ${failed!.id}` }).waitFor();
    const logs = page.getByRole('region', { name: 'Logs' });
    await vi.waitFor(async () => expect(await logs.textContent()).toContain('about to fail'), WAIT);
    expect(await logs.textContent()).toContain('boom failed on purpose');
    const timing = page.getByRole('region', { name: 'Timing' });
    // the first call of boom started its instance: the wait holds the cold start
    expect(failed!.cold).toBe(true);
    for (const span of ['queued', 'cold start (init)', 'run']) {
      await timing.getByRole('rowheader', { name: span, exact: true }).waitFor();
    }
    expect(await timing.textContent()).toContain(failed!.traceId.slice(0, 16));
    await shot('invocation');
  });

  it("shows an invocation's trace: the invocations it caused under it, each a link", async () => {
    const [relay] = await records(g, 'relay');
    const [echo] = await records(g, 'echo');
    expect(echo!.parentSpanId).toBe(relay!.spanId);
    await page.goto(`${g.url}/_gust/ui#/invocations/${relay!.id}`);
    const trace = page.getByRole('region', { name: 'Trace' });
    const link = trace.getByRole('link', { name: `Invocation ${echo!.id} of echo` });
    await link.waitFor();
    expect(await trace.textContent()).toContain('2 invocations');
    // the one looked at is marked, the one it caused comes under it, indented
    const rows = trace.getByRole('row');
    expect(await rows.nth(1).getAttribute('aria-current')).toBe('true');
    expect(await rows.nth(1).textContent()).toContain('relay');
    expect(await rows.nth(2).textContent()).toContain('echo');
    const indent = (n: number) =>
      rows
        .nth(n)
        .getByRole('rowheader')
        .evaluate((th) => Number.parseFloat(getComputedStyle(th).paddingLeft));
    expect(await indent(2)).toBeGreaterThan(await indent(1));
    await shot('trace');
    await link.click();
    await page.getByRole('heading', { name: `Invocation ${echo!.id}` }).waitFor();
    await trace.getByRole('link', { name: `Invocation ${relay!.id} of relay` }).waitFor();
  });

  it('shows the event an invocation got, collapsed, and opens it', async () => {
    const [echo] = await records(g, 'echo');
    await page.goto(`${g.url}/_gust/ui#/invocations/${echo!.id}`);
    const event = page.getByRole('region', { name: 'Event' });
    const summary = event.getByText('Event of 7 bytes');
    await summary.waitFor();
    expect(await event.getByText('"n": 1').isVisible()).toBe(false);
    await summary.click();
    await event.getByText('"n": 1').waitFor();
    expect(await event.textContent()).toContain(`gust replay ${echo!.id}`);
  });

  it('shows usage and cost per function', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    const boom = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'boom', exact: true }) });
    await boom.waitFor();
    const cells = boom.getByRole('cell');
    expect(await cells.nth(0).textContent()).toBe('1'); // requests
    expect(await cells.nth(1).textContent()).toBe('1'); // failed
    expect(await cells.last().textContent()).toBe('–'); // no budget
    // its cost in full, never as 2.4e-7
    expect(await cells.nth(6).textContent()).toMatch(/^\$0\.0+[1-9]\d\d$/);
    // the price plan the costs are under
    await page
      .getByText(
        "Costs at AWS Lambda's x86 list prices: $0.2 per million requests, $0.0000166667 per GB-s, $0.0000041667 per warm GB-s (scale.min).",
      )
      .waitFor();
    // a function with a budget and no call has its row, for its budget
    const idle = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'idle', exact: true }) });
    expect(await idle.getByRole('cell').first().textContent()).toBe('0');
    expect(await idle.getByRole('cell').last().textContent()).toBe('0 of 5 GB-s');
    const greet = page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'greet', exact: true }) });
    expect(await greet.getByRole('cell').last().textContent()).toMatch(/^[\d.e-]+ of 1000 GB-s$/);
    await shot('usage');
  });

  it('fits a phone screen: no page wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${g.url}/_gust/ui#/functions/greet`);
    await page.locator('.chart canvas').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('function-phone');
  });

  it("fits a phone screen: a trace's caption is read whole, not scrolled away with its table", async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    const [relay] = await records(g, 'relay');
    await page.goto(`${g.url}/_gust/ui#/invocations/${relay!.id}`);
    const trace = page.getByRole('region', { name: 'Trace' });
    await trace.getByRole('link', { name: /^Invocation .* of echo$/ }).waitFor();
    for (const name of [/^Trace [0-9a-f]{32}: 2 invocations over [\d.]+ ms$/, /^From arrival to answer/]) {
      const table = page.getByRole('table', { name });
      const caption = await table.evaluate((t) => {
        const label =
          document.getElementById(t.getAttribute('aria-labelledby') ?? '') ?? t.querySelector('caption');
        const box = label!.getBoundingClientRect();
        return { right: box.right, clipped: label!.scrollWidth > label!.clientWidth };
      });
      expect(caption.right).toBeLessThanOrEqual(375);
      expect(caption.clipped).toBe(false);
    }
    await shot('trace-phone');
    // the waterfalls fit, bars included: nothing to scroll sideways
    for (const scroller of await page.locator('.scroll:has(.waterfall)').all()) {
      expect(await scroller.evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
