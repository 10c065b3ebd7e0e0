/**
 * router: the function routes of the active versions, rebuilt at deploy (never per request).
 * More specific routes win: literal segments before parameters, parameters before `*`.
 * A route without `methods` serves every method of the manifest (HTTP_METHODS); any other method
 * (TRACE, PROPFIND, ...) is refused here, before an instance sees it.
 */
import { compileRoute, parseRoutePath } from '../manifest/route.js';
import { HTTP_METHODS } from '../manifest/schema.js';
import type { FunctionSpec, HttpTrigger } from '../manifest/types.js';

interface Route {
  readonly function: string;
  readonly trigger: HttpTrigger;
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
  | { readonly type: 'methodNotAllowed'; readonly allow: readonly string[] }
  | { readonly type: 'notFound' };

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
      .filter((t): t is HttpTrigger => t.type === 'http')
      .map((trigger) => {
        const compiled = compileRoute(trigger.path);
        return {
          function: spec.name,
          trigger,
          routeKeyPath: compiled.pattern,
          match: compiled.match,
          rank: rankOf(trigger.path),
        };
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
    const any = route.trigger.methods.length === 0;
    const methods = any ? HTTP_METHODS : route.trigger.methods;
    const accepts = methods.includes(method as never) || (method === 'HEAD' && methods.includes('GET'));
    if (!accepts) {
      for (const m of methods) allow.add(m);
      continue;
    }
    return {
      type: 'found',
      function: route.function,
      auth: route.trigger.auth,
      params,
      routeKey: `${any ? 'ANY' : method} ${route.routeKeyPath}`,
    };
  }
  return allow.size > 0 ? { type: 'methodNotAllowed', allow: [...allow] } : { type: 'notFound' };
}
