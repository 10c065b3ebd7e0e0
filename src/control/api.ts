/**
 * api: the control API under /_gust/api/v1 (docs/API.md). Each route names the scope it needs;
 * the handler gets the parsed request and answers plain data.
 */
import type { InvocationStore, KeyRecord, KeyScope } from '../backends/ports.js';
import { GustError } from '../errors.js';
import { checkEventSize, wrapData } from '../events/ingress.js';
import { authenticate } from '../gateway/auth.js';
import { Answer, type EdgeHandler, type EdgeRequest, errorResponse, header, json } from '../gateway/http.js';
import { compileRoute } from '../manifest/route.js';
import { PROJECT_NAME } from '../manifest/schema.js';
import type { Recorder } from '../observe/records.js';
import { traceFrom } from '../observe/trace-context.js';
import type { Usage } from '../observe/usage.js';
import type { Kv } from '../services/kv.js';
import type { Secrets } from '../services/secrets.js';
import type { Topics } from '../services/topics.js';
import { bodyOf } from './body.js';
import { insightRoutes } from './insights.js';
import { type InvokeDeps, invoke } from './invoke.js';
import { authorize, EXPIRY_RULE, type Keys, keyInfo, parseExpiry, SCOPES } from './keys.js';
import { clip, intParam, timeParam } from './params.js';
import { parseRate, type Rate } from './rate.js';
import { recordRoutes } from './record-routes.js';
import { type ReplayDeps, replayRoutes } from './replay.js';
import { secretRoutes } from './secret-routes.js';

export interface ControlApiDeps extends InvokeDeps, ReplayDeps {
  readonly topics: Topics;
  readonly kv: Kv;
  readonly secrets: Secrets;
  readonly keys: Keys;
  readonly invocations: InvocationStore;
  readonly recorder: Recorder;
  readonly usage: Usage;
}

export interface Call {
  readonly req: EdgeRequest;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The key that made the call (its scope is checked already). */
  readonly key: KeyRecord;
}

export type Handler = (call: Call) => Promise<unknown>;
export type Route = [method: string, path: string, scope: KeyScope, handler: Handler];

const PREFIX = '/_gust/api/v1';

export function controlApi(deps: ControlApiDeps): EdgeHandler {
  const { control, keys } = deps;
  const flushed = async <T>(read: () => Promise<T>) => {
    await deps.recorder.flush();
    return read();
  };
  const routes: Route[] = [
    [
      'POST',
      '/deploy',
      'deploy',
      async ({ req }) => {
        const body = bodyOf(req, ['manifest', 'bundles', 'project', 'prune', 'adopt']);
        const project = body.project;
        if (project !== undefined && (typeof project !== 'string' || !PROJECT_NAME.test(project))) {
          throw new GustError(
            'BAD_REQUEST',
            'project must be a project name: lower-case letters, digits and -, starting with a letter',
          );
        }
        return control.deploy(body.manifest, body.bundles, {
          ...(project === undefined ? {} : { project: project as string }),
          prune: flag(body, 'prune'),
          adopt: flag(body, 'adopt'),
        });
      },
    ],
    [
      'GET',
      '/functions',
      'deploy',
      async ({ query }) => ({ functions: await control.list(query.get('project') ?? undefined) }),
    ],
    ['GET', '/functions/:name', 'deploy', ({ params }) => control.describe(params.name!)],
    [
      'DELETE',
      '/functions/:name',
      'deploy',
      async ({ params, query }) => {
        const force = boolParam(query, 'force');
        const { project, pending, dropped, done } = await control.remove(params.name!, { force });
        await done;
        return { removed: params.name, project, force, calls: pending, droppedEvents: dropped };
      },
    ],
    ['GET', '/functions/:name/versions', 'deploy', ({ params }) => control.versions(params.name!)],
    [
      'POST',
      '/functions/:name/rollback',
      'deploy',
      ({ req, params }) => {
        const version = bodyOf(req, ['version'], { optional: true }).version;
        if (version !== undefined && !(Number.isInteger(version) && (version as number) > 0)) {
          throw new GustError('BAD_REQUEST', 'version must be a positive whole number');
        }
        return control.rollback(params.name!, version as number | undefined);
      },
    ],
    ['POST', '/functions/:name/invoke', 'invoke', ({ req, params }) => invoke(deps, req, params.name!)],
    ...recordRoutes(deps, flushed),
    ['GET', '/topics', 'deploy', async () => ({ topics: deps.topics.list() })],
    [
      'GET',
      '/usage',
      'deploy',
      async ({ query }) => {
        const by = query.get('by') ?? 'function';
        if (by !== 'function' && by !== 'day')
          throw new GustError('BAD_REQUEST', 'by must be function or day');
        const fn = query.get('function');
        const since = Date.parse(
          timeParam(query, 'since') ?? new Date(Date.now() - 86_400_000).toISOString(),
        );
        if (since > Date.now()) {
          throw new GustError(
            'BAD_REQUEST',
            `since ${new Date(since).toISOString()} is in the future: usage is counted up to now; give a time before now, or a duration back from now (24h, 7d)`,
          );
        }
        await deps.recorder.flush(); // what was answered is counted
        const report = await deps.usage.report({ since, by, ...(fn === null ? {} : { function: fn }) });
        // A removed function's usage stays readable; a name that never used anything is an error.
        if (fn !== null && report.rows.length === 0 && !(await deps.usage.used(fn))) await control.need(fn);
        return report;
      },
    ],
    ['GET', '/kv', 'deploy', async () => ({ namespaces: deps.kv.list() })],
    [
      'GET',
      '/kv/:ns/keys',
      'storage',
      async ({ params, query }) => {
        const limit = query.has('limit') ? intParam(query, 'limit', { fallback: 100, max: 1000 }) : undefined;
        const page = await deps.kv.keys(params.ns!, {
          prefix: query.get('prefix') ?? undefined,
          cursor: query.get('cursor') ?? undefined,
          ...(limit === undefined ? {} : { limit }),
        });
        return { keys: page.keys, cursor: page.cursor };
      },
    ],
    [
      'GET',
      '/kv/:ns/keys/:key',
      'storage',
      async ({ params }) => {
        const entry = await deps.kv.get(params.ns!, params.key!);
        if (!entry) throw new GustError('NOT_FOUND', `no key ${clip(params.key!)} in ${params.ns}`);
        return entry;
      },
    ],
    [
      'PUT',
      '/kv/:ns/keys/:key',
      'storage',
      async ({ req, params }) => {
        const body = bodyOf(req, ['value', 'ttl']);
        const ttl = body.ttl === undefined ? {} : { ttl: body.ttl as number };
        await deps.kv.put(params.ns!, params.key!, body.value, ttl);
        return { namespace: params.ns, key: params.key };
      },
    ],
    [
      'DELETE',
      '/kv/:ns/keys/:key',
      'storage',
      async ({ params }) => ({ deleted: await deps.kv.delete(params.ns!, params.key!) }),
    ],
    ...secretRoutes(deps),
    [
      'POST',
      '/topics/:topic/publish',
      'invoke',
      async ({ req, params }) => {
        const body = bodyOf(req, ['data'], { optional: true });
        const topic = params.topic!;
        const event = wrapData(topic, body.data ?? null);
        const size = checkEventSize(event);
        if (!size.ok) throw new GustError('PAYLOAD_TOO_LARGE', size.message);
        const published = await deps.topics.publish(topic, [event], traceFrom(header(req, 'traceparent')));
        return new Answer(202, { topic, id: event.id, subscribers: published.subscribers });
      },
    ],
    [
      'POST',
      '/keys',
      'admin',
      async ({ req }) => {
        const body = bodyOf(req, ['scope', 'function', 'expires', 'rate']);
        const scope = body.scope;
        if (!SCOPES.includes(scope as KeyScope))
          throw new GustError('BAD_REQUEST', `scope must be one of ${SCOPES.join(', ')}`);
        const fn = body.function;
        if (fn !== undefined && fn !== null) {
          // anything but a name would make a key for every function
          if (typeof fn !== 'string') throw new GustError('BAD_REQUEST', 'function must be a function name');
          // Only invocations are checked against a key's function: a deploy key limited to one
          // function would be a promise the platform does not keep.
          if (scope !== 'invoke') {
            throw new GustError(
              'BAD_REQUEST',
              `--function limits invoke keys only; a ${String(scope)} key covers every function`,
            );
          }
          await control.need(fn);
        }
        let expiresInMs: number | undefined;
        if (body.expires !== undefined) {
          expiresInMs = parseExpiry(String(body.expires));
          if (expiresInMs === undefined) throw new GustError('BAD_REQUEST', `expires must be ${EXPIRY_RULE}`);
        }
        let rate: Rate | undefined;
        if (body.rate !== undefined && body.rate !== null) {
          rate = parseRate(String(body.rate));
          if (rate === undefined) {
            throw new GustError(
              'BAD_REQUEST',
              'rate must read like 100/s, 6000/m or 10000/h (a whole number from 1)',
            );
          }
        }
        return keys.create({
          scope: scope as KeyScope,
          function: typeof fn === 'string' ? fn : null,
          ...(expiresInMs === undefined ? {} : { expiresInMs }),
          ...(rate === undefined ? {} : { rate }),
        });
      },
    ],
    ['GET', '/keys', 'admin', async () => ({ keys: (await keys.list()).map(keyInfo) })],
    [
      'DELETE',
      '/keys/:id',
      'admin',
      async ({ params }) => {
        if (!(await keys.revoke(params.id!)))
          throw new GustError('NOT_FOUND', `no active key ${params.id}: gust keys ls lists them`);
        return { revoked: params.id };
      },
    ],
    ...insightRoutes(deps),
    ...replayRoutes(deps),
  ];
  const compiled = routes.map(([method, path, scope, handler]) => ({
    method,
    match: compileRoute(path).match,
    scope,
    handler,
  }));

  return async (req) => {
    try {
      const path = req.pathname.slice(PREFIX.length);
      if (!req.pathname.startsWith(PREFIX))
        throw new GustError('NOT_FOUND', `the control API lives under ${PREFIX}`);
      const candidates = compiled.map((r) => ({ r, params: r.match(path) })).filter((x) => x.params !== null);
      if (candidates.length === 0)
        throw new GustError('NOT_FOUND', `no control API endpoint ${req.method} ${req.pathname}`);
      const hit = candidates.find((c) => c.r.method === req.method);
      if (!hit) throw new GustError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.pathname}`);
      const key = await authenticate(req, keys, { sigv4: false });
      const params = hit.params!;
      authorize(key, { scope: hit.r.scope, ...(params.name ? { function: params.name } : {}) });
      const value = await hit.r.handler({ req, params, query: new URLSearchParams(req.query), key });
      return value instanceof Answer ? json(value.status, value.value, value.headers) : json(200, value);
    } catch (e) {
      return errorResponse(e);
    }
  };
}

/** A JSON boolean field, absent = false. */
function flag(body: Record<string, unknown>, name: string): boolean {
  const value = body[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new GustError('BAD_REQUEST', `${name} must be true or false`);
  return value;
}

function boolParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === 'false') return false;
  if (raw === 'true' || raw === '') return true;
  throw new GustError('BAD_REQUEST', `${name} must be true or false`);
}
