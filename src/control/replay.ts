/**
 * replay: `gust replay` on the control API (docs/API.md). An invocation runs again with what it
 * got (its event, or its HTTP request, as kept: observe/inputs.ts) through the one path of every
 * call, dispatcher.invoke, as a new invocation: trigger `replay`, `replayOf` the original, on the
 * active version or a given one; the answer puts the two records side by side.
 * - A queued event runs at once, synchronously (not queued again: no retries, no dead letter);
 *   what the function does (publish, write) it does again: that is the author's to judge.
 * - `inspect` (an admin key: the instance runs without Node's permission model, which allows no
 *   inspector) runs it on an instance of its own with the inspector open (control/replays.ts): the
 *   POST answers 202 with where it listens, and `GET /replays/:id` gives the result.
 * - The kept input is not checked against `input` again: the function gets what it got then.
 */
import type { InputStore, InvocationRecord, InvocationStore, KeptInput } from '../backends/ports.js';
import type { Apart, DispatchResult } from '../dispatch/dispatcher.js';
import { type Invocation, newInvocationId, spanIn } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { Answer, header } from '../gateway/http.js';
import { invocationError } from '../gateway/outcome.js';
import { formatBytes } from '../lib/bytes.js';
import { formatDuration } from '../manifest/duration.js';
import type { FunctionSpec } from '../manifest/types.js';
import { type ReplayInput, replayInput } from '../observe/inputs.js';
import type { Recorder } from '../observe/records.js';
import { traceFrom } from '../observe/trace-context.js';
import type { StartOptions, WireResponse } from '../runtime/types.js';
import type { Call, Route } from './api.js';
import { bodyOf } from './body.js';
import { type HttpAnswer, httpAnswer } from './http-call.js';
import { collect, type InvokeDeps } from './invoke.js';
import { intParam } from './params.js';
import { InspectedReplays } from './replays.js';

export interface ReplayDeps extends Pick<InvokeDeps, 'control' | 'dispatcher' | 'maxResponseBytes'> {
  readonly invocations: Pick<InvocationStore, 'get'>;
  readonly inputs: Pick<InputStore, 'get'>;
  readonly recorder: Pick<Recorder, 'flush'>;
  /** The spec of a function's active version, or of version `version`; undefined when there is none. */
  readonly versionSpec: (name: string, version?: number) => Promise<FunctionSpec | undefined>;
  /** Why a function has no version `version` (removed by --keep-versions, or never made). */
  readonly noVersion: (name: string, version: number) => Promise<string>;
  /** What the platform keeps for replay: for the errors that say why an event is not there. */
  readonly keeping: { readonly retentionMs: number; readonly maxEventBytes: number };
}

/** Old beside new: the answer of a replay once it ended. */
export interface ReplayAnswer {
  readonly original: InvocationRecord;
  readonly replay: InvocationRecord;
  /** What was run: its kind and size (sizeOf), and where a Gust key was masked: header names, `url`. */
  readonly input: {
    readonly kind: 'event' | 'http';
    readonly bytes: number;
    readonly masked: readonly string[];
  };
  /** What the replay returned (an event). */
  readonly result?: unknown;
  /** The replay's response (an HTTP request), when it answered one of at most the body limit. */
  readonly response?: HttpAnswer;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The longest an ask for an inspected replay's result waits. */
const MAX_WAIT_S = 30;

export function replayRoutes(deps: ReplayDeps): Route[] {
  const inspected = new InspectedReplays();
  return [
    ['POST', '/invocations/:id/replay', 'deploy', (call) => replay(deps, inspected, call)],
    [
      'GET',
      '/invocations/:id/event',
      'deploy',
      async ({ params }) => {
        const { kept } = await keptInput(deps, params.id!);
        const value = kept.input === null ? undefined : (JSON.parse(kept.input) as unknown);
        const input = replayInput(kept);
        return {
          id: kept.id,
          function: kept.function,
          kind: kept.kind,
          bytes: input === undefined ? kept.bytes : sizeOf(kept, input),
          keptAt: new Date(kept.keptAt).toISOString(),
          kept: value !== undefined,
          ...(value === undefined ? {} : kept.kind === 'http' ? { request: value } : { event: value }),
        };
      },
    ],
    [
      'GET',
      '/replays/:id',
      'admin',
      async ({ params, query }) => {
        const answer = await inspected.result(
          params.id!,
          intParam(query, 'wait', { fallback: 20, min: 0, max: MAX_WAIT_S }) * 1000,
        );
        return answer ?? new Answer(202, { replay: { id: params.id, status: 'running' } });
      },
    ],
    [
      'DELETE',
      '/replays/:id',
      'admin',
      async ({ params }) => {
        inspected.stop(params.id!);
        return { stopped: params.id };
      },
    ],
  ];
}

async function replay(
  deps: ReplayDeps,
  inspected: InspectedReplays,
  { req, params, key }: Call,
): Promise<unknown> {
  const body = bodyOf(req, ['version', 'inspect', 'inspectPort', 'sourceRoot'], { optional: true });
  const { version } = body;
  if (version !== undefined && !(Number.isInteger(version) && (version as number) > 0)) {
    throw new GustError('BAD_REQUEST', 'version must be a positive whole number');
  }
  if (body.inspect !== undefined && typeof body.inspect !== 'boolean') {
    throw new GustError('BAD_REQUEST', 'inspect must be true or false');
  }
  const inspect = body.inspect === true;
  const start = debuggerOptions(body, inspect);
  if (inspect && key.scope !== 'admin') {
    throw new GustError(
      'FORBIDDEN',
      `this ${key.scope} key cannot replay under the debugger: it needs an admin key (the instance it starts runs without Node's permission model, which allows no inspector)`,
    );
  }
  const { original, kept } = await keptInput(deps, params.id!);
  const input = replayInput(kept);
  if (input === undefined) {
    throw new GustError(
      'NOT_FOUND',
      `the event of ${kept.id} was ${formatBytes(kept.bytes)}, over the ${formatBytes(deps.keeping.maxEventBytes)} kept for replay (GUST_REPLAY_MAX_EVENT_SIZE): it cannot be run again`,
    );
  }
  const name = original.function;
  const spec = await target(deps, name, version as number | undefined);
  if (inspect && spec.egress === 'none') {
    throw new GustError(
      'BAD_REQUEST',
      `${name} has egress: none, so no debugger can reach its instance (its network has no way in): replay it without --inspect`,
    );
  }
  const inv = replayOf(original, input, {
    traceparent: header(req, 'traceparent'),
    ...(version === undefined ? {} : { version: version as number }),
  });
  const run = async (apart?: Apart): Promise<ReplayAnswer> => {
    const collected = collect(deps.maxResponseBytes);
    const result = await deps.dispatcher.invoke(inv, inv.kind === 'http' ? collected.sink : undefined, apart);
    return answer(original, kept, input, result, collected.response);
  };
  if (!inspect) return run();
  const started = await inspected.start(inv.id, (apart) => run({ ...apart, start }));
  if ('answer' in started) return started.answer;
  return new Answer(202, {
    replay: { id: inv.id, function: name, status: 'running' },
    original,
    inspector: started.inspector,
  });
}

/** Where the inspector listens (`inspectPort`) and where the debugger has the sources (`sourceRoot`). */
function debuggerOptions(
  body: Record<string, unknown>,
  inspect: boolean,
): Pick<StartOptions, 'inspectPort' | 'sourceRoot'> {
  const { inspectPort: port, sourceRoot: root } = body;
  if ((port !== undefined || root !== undefined) && !inspect) {
    throw new GustError('BAD_REQUEST', 'inspectPort and sourceRoot go with inspect: true');
  }
  if (port !== undefined && !(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)) {
    throw new GustError('BAD_REQUEST', 'inspectPort must be a port number, 1 to 65535');
  }
  if (root !== undefined && !(typeof root === 'string' && root.length <= 4096 && isFileUrl(root))) {
    throw new GustError('BAD_REQUEST', 'sourceRoot must be a file: URL (the project folder on your side)');
  }
  return {
    ...(port === undefined ? {} : { inspectPort: port as number }),
    ...(root === undefined ? {} : { sourceRoot: (root as string).endsWith('/') ? root : `${root}/` }),
  };
}

function isFileUrl(text: string): boolean {
  return URL.canParse(text) && new URL(text).protocol === 'file:';
}

/** The original record and what it got; a clear NOT_FOUND when either is gone. */
async function keptInput(
  deps: ReplayDeps,
  id: string,
): Promise<{ original: InvocationRecord; kept: KeptInput }> {
  await deps.recorder.flush();
  const shown = id.length > 60 ? `${id.slice(0, 60)}…` : id;
  const original = await deps.invocations.get(id);
  if (!original) {
    throw new GustError('NOT_FOUND', `no invocation ${shown}: gust invocations NAME lists them`);
  }
  const kept = await deps.inputs.get(id);
  if (kept) return { original, kept };
  const { retentionMs } = deps.keeping;
  const why =
    retentionMs === 0
      ? 'this platform keeps no events for replay (--replay-retention 0)'
      : `events are kept for replay for ${formatDuration(retentionMs)} (--replay-retention) and up to --replay-max-size in all; this one is gone, or came before they were kept`;
  throw new GustError('NOT_FOUND', `the event of ${shown} is not kept: ${why}`);
}

/** The spec the replay runs on: the active version's, or version `version`'s. */
async function target(deps: ReplayDeps, name: string, version: number | undefined): Promise<FunctionSpec> {
  const spec = await deps.versionSpec(name, version);
  if (spec) return spec;
  await deps.control.need(name); // removed: says so
  const why = version === undefined ? `${name} has no active version` : await deps.noVersion(name, version);
  throw new GustError('NOT_FOUND', why);
}

function replayOf(
  original: InvocationRecord,
  input: ReplayInput,
  opts: { readonly traceparent: string | undefined; readonly version?: number },
): Invocation {
  const received = Date.now();
  const base = {
    id: newInvocationId(received),
    function: original.function,
    ...(opts.version === undefined ? {} : { version: opts.version }),
    trigger: 'replay',
    replayOf: original.id,
    ...spanIn(traceFrom(opts.traceparent)),
    received,
  };
  return input.kind === 'http'
    ? { ...base, kind: 'http', request: input.request }
    : { ...base, kind: 'event', event: input.event };
}

/**
 * The size of what was run, by one rule wherever a replay shows it: an event's JSON, an HTTP
 * request's body (its headers aside, as a request's size is usually told).
 */
function sizeOf(kept: KeptInput, input: ReplayInput): number {
  return input.kind === 'http' ? (input.request.body?.byteLength ?? 0) : kept.bytes;
}

/** A Gust key as kept: its secret part masked (observe/inputs.ts). */
const MASKED_KEY = /gust_[A-Z2-7]{16}_\*\*\*/;

/** The headers that held a masked Gust key, and `url` when its URL did. */
function maskedIn(input: ReplayInput): string[] {
  if (input.kind !== 'http') return [];
  return MASKED_KEY.test(input.request.url) ? [...input.masked, 'url'] : [...input.masked];
}

function answer(
  original: InvocationRecord,
  kept: KeptInput,
  input: ReplayInput,
  result: DispatchResult,
  collected: () => WireResponse | undefined,
): ReplayAnswer {
  const { outcome, record } = result;
  const json = outcome.type === 'ok' ? outcome.json : undefined;
  const response =
    outcome.type === 'ok' && input.kind === 'http' ? (outcome.response ?? collected()) : undefined;
  const error = invocationError(result);
  return {
    original,
    replay: record,
    input: { kind: kept.kind, bytes: sizeOf(kept, input), masked: maskedIn(input) },
    ...(json === undefined ? {} : { result: JSON.parse(json) as unknown }),
    ...(response === undefined ? {} : { response: httpAnswer(response) }),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
}
