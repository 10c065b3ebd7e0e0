/**
 * router: the function routes of the active versions, rebuilt at deploy (never per request).
 * More specific routes win: literal segments before parameters, parameters before `*`.
 * A route without `methods` serves every method of the manifest (HTTP_METHODS); any other method
 * (TRACE, PROPFIND, ...) is refused here, before an instance sees it.
 * `webhook` triggers are routes too, for POST only and public (the sender's signature is their
 * auth): a match says `webhook`, so that the gateway queues the delivery instead of running the
 * function while the sender waits.
 */
import { compileRoute, parseRoutePath } from '../manifest/route.js';
import { HTTP_METHODS } from '../manifest/schema.js';
import type { FunctionSpec, HttpMethod, HttpTrigger, WebhookTrigger } from '../manifest/types.js';

interface Route {
  readonly function: string;
  readonly target:
    | { readonly kind: 'http'; readonly trigger: HttpTrigger }
    | { readonly kind: 'webhook'; readonly trigger: WebhookTrigger };
  /** Empty means every method. */
  readonly methods: readonly HttpMethod[];
  readonly routeKeyPath: string;
  readonly match: (pathname: string) => Record<string, string> | null;
  readonly rank: number;
}

export type RouteMatch =
  | {
      readonly type: 'found';
      readonly function: string;
      readonly auth: HttpTrigger['auth'];
      readonly params: Record<string, string>;
      readonly routeKey: string;
    }
  /** A POST to a webhook trigger's path. */
  | {
      readonly type: 'webhook';
      readonly function: string;
      readonly trigger: WebhookTrigger;
      readonly params: Record<string, string>;
    }
  | { readonly type: 'methodNotAllowed'; readonly allow: readonly string[] }
  | { readonly type: 'notFound' };

/** Webhook routes take POST alone. */
const WEBHOOK_METHODS: readonly HttpMethod[] = ['POST'];

/** Fewer parameters and no `*` first; longer literal paths first. */
function rankOf(path: string): number {
  const parsed = parseRoutePath(path);
  if (!parsed.ok) return Number.MAX_SAFE_INTEGER;
  let rank = 0;
  for (const s of parsed.segments) rank += s.kind === 'rest' ? 10_000 : s.kind === 'param' ? 100 : -1;
  return rank;
}

export class Router {
  private readonly byFunction = new Map<string, Route[]>();
  private routes: Route[] = [];

  set(spec: FunctionSpec): void {
    const routes = spec.triggers
      .flatMap((trigger): Route[] => {
        if (trigger.type !== 'http' && trigger.type !== 'webhook') return [];
        const compiled = compileRoute(trigger.path);
        return [
          {
            function: spec.name,
            target: trigger.type === 'http' ? { kind: 'http', trigger } : { kind: 'webhook', trigger },
            methods: trigger.type === 'http' ? trigger.methods : WEBHOOK_METHODS,
            routeKeyPath: compiled.pattern,
            match: compiled.match,
            rank: rankOf(trigger.path),
          },
        ];
      })
      .sort(byRank);
    this.byFunction.set(spec.name, routes);
    this.rebuild();
  }

  delete(name: string): void {
    this.byFunction.delete(name);
    this.rebuild();
  }

  match(method: string, pathname: string): RouteMatch {
    return matchAmong(this.routes, method, pathname);
  }

  /** Among the routes of one function only (`gust invoke NAME --path P`): notFound when it has none. */
  matchIn(name: string, method: string, pathname: string): RouteMatch {
    return matchAmong(this.byFunction.get(name) ?? [], method, pathname);
  }

  private rebuild(): void {
    this.routes = [...this.byFunction.values()].flat().sort(byRank);
  }
}

const byRank = (a: Route, b: Route): number => a.rank - b.rank;

/** The first route (in rank order) that takes the path and the method; else why none does. */
function matchAmong(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  const allow = new Set<string>();
  for (const route of routes) {
    const params = route.match(pathname);
    if (!params) continue;
    const any = route.methods.length === 0;
    const methods = any ? HTTP_METHODS : route.methods;
    const accepts = methods.includes(method as never) || (method === 'HEAD' && methods.includes('GET'));
    if (!accepts) {
      for (const m of methods) allow.add(m);
      continue;
    }
    const { target } = route;
    if (target.kind === 'webhook') {
      return { type: 'webhook', function: route.function, trigger: target.trigger, params };
    }
    return {
      type: 'found',
      function: route.function,
      auth: target.trigger.auth,
      params,
      routeKey: `${any ? 'ANY' : method} ${route.routeKeyPath}`,
    };
  }
  return allow.size > 0 ? { type: 'methodNotAllowed', allow: [...allow] } : { type: 'notFound' };
}
