/**
 * The process that runs inside one instance. It starts empty ("stem cell"), announces `ready`,
 * then takes one function with `load` and serves `invoke` messages until the host stops it.
 * It imports nothing from the rest of src/: only node builtins and its siblings.
 */
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { setBindingSender, settleCall } from './bindings.js';
import { decodeHost, encodeSandbox, Outbox } from './codec.js';
import { baseContext, type Context, type ContextBase, makeContext } from './context.js';
import { callLambda, type Entry, pickEntry } from './handler.js';
import { fromLambdaResult, toApiGatewayV2Event } from './lambda-http.js';
import { captureConsole, endLogs, initLogs, LogBuffer, runWithLogs, setConcurrent } from './logs.js';
import { type HostMessage, MAX_CHUNK_BYTES, type SandboxMessage, type WireError } from './protocol.js';
import { refuseUnixSockets } from './sockets.js';
import { cleanStack, cleanText, setBundle } from './stack.js';
import { warmUp } from './warm.js';
import { isResponse, readWebResponse, toWebRequest } from './web-http.js';

type InvokeMessage = Extract<HostMessage, { t: 'invoke' }>;

/** fd 3, a socket pair with the host: one JSON batch per line each way (node/channel.ts). */
const channel = new Socket({ fd: 3, readable: true, writable: true });
// From here on, no unix socket: the channel above is the last one this process opens.
refuseUnixSockets();
const writeBatch = (batch: unknown[], done?: () => void): void => {
  if (channel.writable) channel.write(`${JSON.stringify(batch)}\n`, done);
};
const outbox = new Outbox((batch) => writeBatch(batch));

/** Queued for this turn's batch; log lines and the last words of a dying instance go at once. */
function send(message: SandboxMessage): void {
  // a binding call waits for its answer: it goes at once, not at the end of the turn
  outbox.push(encodeSandbox(message), message.t === 'log' || message.t === 'call');
}

/** Stacks leave cleaned (stack.ts). A name, message or stack that is not a string would break the protocol. */
function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const stack = typeof e.stack === 'string' ? { stack: cleanStack(e.stack) } : {};
    return { name: String(e.name), message: cleanText(String(e.message)), ...stack };
  }
  return { name: 'Error', message: typeof e === 'string' ? e : safeJson(e) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

let entry: Entry | undefined;
let contextBase: ContextBase;

async function load(message: Extract<HostMessage, { t: 'load' }>): Promise<void> {
  const started = performance.now();
  // The instance was started with an empty environment; it now gets exactly the function's own.
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, message.env);
  contextBase = baseContext(message.fn, message.env);
  setConcurrent(message.fn.concurrency > 1);
  setBundle(message.bundle);
  try {
    const mod = (await import(pathToFileURL(message.bundle).href)) as Record<string, unknown>;
    const picked = pickEntry(mod, message.exportName);
    if (!picked.ok) throw new TypeError(picked.message);
    entry = picked.entry;
    if (message.inspect) {
      const { pausing } = await import('./inspect.js');
      entry = { ...entry, fn: pausing(entry.fn) };
    }
    send({ t: 'loaded', initMs: performance.now() - started, style: entry.style, logs: initLogs.take() });
  } catch (e) {
    send({ t: 'loadError', error: toWireError(e), logs: initLogs.take() });
  }
}

async function run(message: InvokeMessage, logs: LogBuffer): Promise<void> {
  const { fn, style } = entry!;
  const params = message.kind === 'http' ? message.request.params : {};
  const context = makeContext(
    contextBase,
    {
      id: message.id,
      traceparent: message.traceparent,
      deadline: message.deadline,
      attempt: message.attempt,
      params,
    },
    logs,
  );
  const { id } = message;
  if (message.kind === 'http' && style === 'web') {
    const res = await fn(toWebRequest(message.request, message.traceparent), context);
    if (!isResponse(res)) {
      throw new TypeError(`a web-standard handler must return a Response (it returned ${describe(res)})`);
    }
    await readWebResponse(res, {
      whole: (response) => send({ t: 'result', id, response, logs: logs.take() }),
      head: (status, headers) => send({ t: 'head', id, status, headers }),
      chunk: (data) => sendChunk(id, data),
      end: () => send({ t: 'end', id, logs: logs.take() }),
      onCancel: (cancel) => cancellers.set(id, cancel),
    });
    return;
  }
  if (message.kind === 'http') {
    const event = toApiGatewayV2Event(message.request, { requestId: id, traceparent: message.traceparent });
    const response = fromLambdaResult(await callLambda(fn, event, context));
    send({ t: 'result', id, response, logs: logs.take() });
    return;
  }
  const value =
    style === 'lambda'
      ? await callLambda(fn, message.event, context)
      : await callWeb(fn, message.event, context);
  const json = value === undefined ? undefined : JSON.stringify(value);
  send({ t: 'result', id, ...(json === undefined ? {} : { json }), logs: logs.take() });
}

/** In pieces of at most MAX_CHUNK_BYTES: the host refuses a bigger chunk message. */
function sendChunk(id: string, data: Uint8Array): void {
  for (let at = 0; at < data.byteLength; at += MAX_CHUNK_BYTES) {
    send({ t: 'chunk', id, data: data.subarray(at, at + MAX_CHUNK_BYTES) });
  }
}

/** An event given to a web-standard handler arrives as a JSON POST; a JSON answer is parsed back. */
async function callWeb(fn: Entry['fn'], event: unknown, context: Context): Promise<unknown> {
  const req = new Request('http://localhost/', {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: context.traceparent },
    body: JSON.stringify(event ?? null),
  });
  const res = await fn(req, context);
  if (!isResponse(res)) return res;
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value;
}

/** How to stop each streamed response still being read, by invocation id. */
const cancellers = new Map<string, () => void>();

function invoke(message: InvokeMessage): void {
  const logs = new LogBuffer((text) => send({ t: 'log', id: message.id, text }));
  void runWithLogs(logs, () =>
    run(message, logs)
      .catch((e: unknown) => send({ t: 'error', id: message.id, error: toWireError(e), logs: logs.take() }))
      .finally(() => {
        endLogs(logs);
        cancellers.delete(message.id);
      }),
  );
}

function dieWith(e: unknown): void {
  outbox.flush();
  writeBatch([{ t: 'fatal', error: toWireError(e) }], () => process.exit(1));
  setTimeout(() => process.exit(1), 200).unref();
}

captureConsole();
setBindingSender(send);
process.on('uncaughtException', dieWith);
process.on('unhandledRejection', dieWith);
// The host is gone (or stopped us): nothing may outlive it.
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));
let pending = '';
channel.setEncoding('utf8');
channel.on('data', (text: string) => {
  // The host is trusted: its lines are whole JSON batches.
  if (!text.includes('\n')) {
    pending += text;
    return;
  }
  const lines = (pending + text).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) for (const raw of JSON.parse(line) as unknown[]) receive(decodeHost(raw));
});

function receive(message: HostMessage): void {
  if (message.t === 'invoke') invoke(message);
  else if (message.t === 'reply') settleCall(message.call, message.json, message.error);
  else if (message.t === 'cancel') cancellers.get(message.id)?.();
  else if (message.t === 'load') void load(message);
}
void warmUp().then(() => send({ t: 'ready' }));
