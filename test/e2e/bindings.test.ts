/**
 * Bindings: ctx.publish and ctx.invoke, checked on the platform side against each function's
 * permissions (a refused call throws inside the function, naming what is missing, and sends
 * nothing), with the trace id carried along so that a chain of functions is one trace.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  deployProject,
  type Gust,
  type InvocationRecord,
  invoke,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
topics: [events]
functions:
  publisher:
    handler: f.mjs#publisher
    permissions: [topic:events:publish]
  sneaky:
    handler: f.mjs#publisher
  listener:
    handler: f.mjs#listener
    triggers:
      - topic: { name: events }
  caller:
    handler: f.mjs#caller
    permissions: [function:adder:invoke, function:failing:invoke]
  stranger:
    handler: f.mjs#caller
  adder:
    handler: f.mjs#adder
  failing:
    handler: f.mjs#failing
`,
    'f.mjs': `
export const publisher = async (e, ctx) => {
  try { return await ctx.publish('events', { n: e.n }); }
  catch (err) { return { refused: err.name + ': ' + err.message }; }
};
export const listener = async (e) => { console.log('got ' + JSON.stringify(e.data)); };
export const caller = async (e, ctx) => {
  try { return { value: await ctx.invoke(e.fn, e.data, { async: e.async === true }) }; }
  catch (err) { return { refused: err.name + ': ' + err.message }; }
};
export const adder = async (e) => ({ sum: e.a + e.b });
export const failing = async () => { throw new RangeError('out of range'); };
`,
  });
});

afterAll(async () => {
  await g?.stop();
});

const heard = async (): Promise<string> =>
  (await records(g, 'listener', 1000)).map((r: InvocationRecord) => r.logs).join('');

describe('ctx.publish', () => {
  it('publishes with topic:NAME:publish, and subscribers get it in the same trace', async () => {
    const r = await invoke(g, 'publisher', { n: 1 });
    expect(r.body.result).toMatchObject({ id: expect.any(String) });
    await vi.waitFor(async () => expect(await heard()).toContain('got {"n":1}'), WAIT);
    const [sent] = await records(g, 'publisher', 1);
    const [got] = await records(g, 'listener', 1);
    expect(got!.traceId).toBe(sent!.traceId);
  });

  it('throws a PermissionError naming the missing permission without it, and sends nothing', async () => {
    const r = await invoke(g, 'sneaky', { n: 2 });
    expect(r.body.result).toEqual({
      refused: expect.stringMatching(/^PermissionError: .*sneaky needs the permission topic:events:publish/),
    });
    const [record] = await records(g, 'sneaky', 1);
    expect(record!.deniedCalls).toBe(1);
    // a publish that was allowed afterwards arrives, the refused one never does
    await invoke(g, 'publisher', { n: 3 });
    await vi.waitFor(async () => expect(await heard()).toContain('got {"n":3}'), WAIT);
    expect(await heard()).not.toContain('got {"n":2}');
  });
});

describe('ctx.invoke', () => {
  it('returns what the other function returned, in the same trace', async () => {
    const r = await invoke(g, 'caller', { fn: 'adder', data: { a: 2, b: 40 } });
    expect(r.body.result).toEqual({ value: { sum: 42 } });
    const [outer] = await records(g, 'caller', 1);
    const [inner] = await records(g, 'adder', 1);
    expect(inner!.trigger).toBe('invoke');
    expect(inner!.traceId).toBe(outer!.traceId);
  });

  it("throws the other function's error, with its name", async () => {
    const r = await invoke(g, 'caller', { fn: 'failing', data: {} });
    expect(r.body.result).toEqual({
      refused: expect.stringMatching(/^RangeError: failing \(invocation \S+\) failed: out of range/),
    });
  });

  it('queues the call with {async: true} and resolves with its id', async () => {
    const r = await invoke(g, 'caller', { fn: 'adder', data: { a: 1, b: 1 }, async: true });
    const id = (r.body.result as { value: { id: string } }).value.id;
    await vi.waitFor(async () => {
      expect((await records(g, 'adder', 100)).some((x) => x.id === id && x.status === 'ok')).toBe(true);
    }, WAIT);
  });

  it('throws a PermissionError without function:NAME:invoke, and the other function never runs', async () => {
    const before = (await records(g, 'adder', 1000)).length;
    const r = await invoke(g, 'stranger', { fn: 'adder', data: { a: 1, b: 2 } });
    expect(r.body.result).toEqual({
      refused: expect.stringMatching(
        /^PermissionError: .*stranger needs the permission function:adder:invoke/,
      ),
    });
    expect((await records(g, 'adder', 1000)).length).toBe(before);
  });

  it('refuses a call to a function it is not permitted, before looking whether it exists', async () => {
    const r = await invoke(g, 'caller', { fn: 'failing-not', data: {} });
    expect((r.body.result as { refused: string }).refused).toMatch(/^PermissionError/);
  });
});
