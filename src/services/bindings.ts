/**
 * services/bindings: what `ctx.publish` and `ctx.invoke` do, for one invocation. Each call is
 * checked against the function's permissions first (nothing is sent otherwise), then carried out
 * with the invocation's trace id, so that a chain of functions is one trace in the records.
 * `ctx.kv` and `ctx.bucket` (bucket-binding.ts) are checked the same way.
 * Every failure is an error the function gets thrown, named: PermissionError, NotFound,
 * PayloadTooLarge, Throttled, InvalidInput, the called function's own error, or an InvokeError
 * (it did not run to an answer) whose `code` is the platform's (BUDGET_EXCEEDED, FUNCTION_TIMEOUT, ...).
 */
import { acceptInvocation } from '../dispatch/accept.js';
import type { Deliveries } from '../dispatch/deliveries.js';
import type { Bindings, Dispatcher } from '../dispatch/dispatcher.js';
import { causedBy, eventInvocation, type Invocation } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { checkEventSize, wrapData } from '../events/ingress.js';
import { invocationError } from '../gateway/outcome.js';
import { inputErrors } from '../manifest/input.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { BindingHost, WireError } from '../runtime/types.js';
import { bucketBinding } from './bucket-binding.js';
import type { Buckets } from './buckets.js';
import type { Kv } from './kv.js';
import { refusal } from './permissions.js';
import type { Topics } from './topics.js';

export interface BindingDeps {
  readonly topics: Pick<Topics, 'publish'>;
  readonly kv: Kv;
  readonly buckets: Buckets;
  readonly deliveries: Deliveries;
  /** Lazily: the dispatcher is built with this module's hosts, and runs the calls it makes. */
  readonly dispatcher: () => Dispatcher;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function bindingHost(deps: BindingDeps, spec: FunctionSpec, inv: Invocation): Bindings {
  let denied = 0;
  let bucketCalls: ReturnType<typeof bucketBinding> | undefined;
  const host: BindingHost = async (op, args) => {
    try {
      const a = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
      if (op === 'publish') return await publish(deps, spec, inv, a);
      if (op === 'kv') return await kv(deps, spec, inv, a);
      if (op === 'bucket') {
        bucketCalls ??= bucketBinding(deps.buckets, spec, inv);
        return await bucketCalls(a);
      }
      return await invoke(deps, spec, inv, a);
    } catch (e) {
      if (e instanceof Error && e.name === 'PermissionError') denied++;
      return { error: asWireError(e) };
    }
  };
  return { host, denied: () => denied };
}

async function publish(
  deps: BindingDeps,
  spec: FunctionSpec,
  inv: Invocation,
  args: Record<string, unknown>,
): Promise<{ json: string }> {
  const topic = nameArg(args.topic, 'ctx.publish(topic, data): topic');
  denied(refusal(spec, `topic:${topic}:publish`, `ctx.publish('${topic}')`));
  const event = wrapData(topic, args.data ?? null);
  const size = checkEventSize(event);
  if (!size.ok) throw named('PayloadTooLarge', `ctx.publish('${topic}'): ${size.message}`);
  await deps.topics.publish(topic, [event], causedBy(inv));
  return { json: JSON.stringify({ id: event.id }) };
}

async function invoke(
  deps: BindingDeps,
  spec: FunctionSpec,
  inv: Invocation,
  args: Record<string, unknown>,
): Promise<{ json?: string } | { error: WireError }> {
  const fn = nameArg(args.function, 'ctx.invoke(fn, data): fn');
  denied(refusal(spec, `function:${fn}:invoke`, `ctx.invoke('${fn}')`));
  const data = args.data ?? null;
  const dispatcher = deps.dispatcher();
  const target = dispatcher.activeSpec(fn);
  if (!target) throw named('NotFound', `ctx.invoke('${fn}'): no function named ${fn} is deployed`);
  const invalid = inputErrors(target.input, data);
  if (invalid.length > 0 && args.async !== true) {
    throw named(
      'InvalidInput',
      `ctx.invoke('${fn}'): the event does not match its input schema: ${invalid.join('; ')}`,
    );
  }
  if (args.async === true) {
    const id = await acceptInvocation(deps.deliveries, {
      function: fn,
      trigger: 'invoke',
      trace: causedBy(inv),
      data,
    });
    return { json: JSON.stringify({ id }) };
  }
  const call = eventInvocation({ function: fn, trigger: 'invoke', trace: causedBy(inv), event: data });
  const result = await dispatcher.invoke(call);
  const { outcome, record } = result;
  if (outcome.type === 'ok') return outcome.json === undefined ? {} : { json: outcome.json };
  if (outcome.type === 'error') {
    return {
      error: {
        name: outcome.error.name,
        message: `${fn} (invocation ${record.id}) failed: ${outcome.error.message}`,
      },
    };
  }
  // It did not run to an answer: an InvokeError with the code an HTTP caller would get for it.
  const code = invocationError(result)?.code;
  return {
    error: {
      name: 'InvokeError',
      message: `${fn} (invocation ${record.id}) ended ${record.status}: ${record.error ?? ''}`,
      ...(code === undefined ? {} : { code }),
    },
  };
}

const KV_WRITES = new Set(['put', 'delete', 'cas']);
const KV_METHODS = new Set(['get', 'list', ...KV_WRITES]);

async function kv(
  deps: BindingDeps,
  spec: FunctionSpec,
  inv: Invocation,
  args: Record<string, unknown>,
): Promise<{ json: string }> {
  const ns = nameArg(args.ns, 'ctx.kv(namespace): namespace');
  const method = String(args.method);
  if (!KV_METHODS.has(method))
    throw named('TypeError', `ctx.kv('${ns}') has no method ${method.slice(0, 20)}`);
  const access = KV_WRITES.has(method) ? 'write' : 'read';
  denied(refusal(spec, `kv:${ns}:${access}`, `ctx.kv('${ns}').${method}`));
  const ttl = args.ttl === undefined || args.ttl === null ? {} : { ttl: args.ttl as number };
  const key = args.key as string;
  let value: unknown;
  switch (method) {
    case 'get':
      value = (await deps.kv.get(ns, key))?.value ?? null;
      break;
    case 'put':
      await deps.kv.put(ns, key, args.value, ttl, causedBy(inv));
      break;
    case 'delete':
      value = await deps.kv.delete(ns, key, causedBy(inv));
      break;
    case 'cas':
      value = await deps.kv.cas(ns, key, args.expected ?? null, args.next, ttl, causedBy(inv));
      break;
    default: {
      const page = await deps.kv.keys(ns, { prefix: args.prefix, cursor: args.cursor, limit: args.limit });
      value = { keys: page.keys.map((k) => ({ name: k.key, expiration: k.expiresAt })), cursor: page.cursor };
    }
  }
  return { json: JSON.stringify(value ?? null) };
}

function nameArg(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME.test(value))
    throw named('TypeError', `${what} must be a name (got ${typeof value})`);
  return value;
}

function denied(why: string | undefined): void {
  if (why !== undefined) throw named('PermissionError', why);
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

const ERROR_NAMES: Partial<Record<string, string>> = {
  THROTTLED: 'Throttled',
  NOT_FOUND: 'NotFound',
  PAYLOAD_TOO_LARGE: 'PayloadTooLarge',
  BAD_REQUEST: 'TypeError',
};

function asWireError(e: unknown): WireError {
  if (e instanceof GustError) return { name: ERROR_NAMES[e.code] ?? 'GustError', message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
