/**
 * manifest/route: the syntax of http trigger paths (`/items/:id`, `/files/*`) and the matcher the
 * gateway runs per request.
 *
 * Matching rules: literal segments compare exactly (case-sensitive, not decoded); `:name` captures
 * one non-empty URL-decoded segment; a final `*` captures the rest of the path, decoded, possibly
 * empty (`/files/*` matches `/files`), under the name `proxy` like API Gateway's `{proxy+}`;
 * one trailing slash in the request is ignored (`/a/` matches `/a`). A segment that fails to
 * decode does not match.
 */

export type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'rest' };

export type ParsedRoute = { ok: true; segments: readonly RouteSegment[] } | { ok: false; error: string };

export interface CompiledRoute {
  /** API Gateway style: `/items/{id}`, `/files/{proxy+}`. */
  readonly pattern: string;
  /** Path parameters when `pathname` (no query) matches, else null. */
  match(pathname: string): Record<string, string> | null;
}

/** The parameter that holds what `*` caught. */
export const REST_PARAM = 'proxy';

const MAX_PATH_LENGTH = 1024;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 3986 path characters, minus `%` (literals are compared undecoded, so keep them plain) and `*`.
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=:@]+$/;
const SLASH = 47;

/** Splits a route path into segments, or says (without a key path prefix) what is wrong with it. */
export function parseRoutePath(path: string): ParsedRoute {
  if (!path.startsWith('/')) return fail(`must start with / (got ${JSON.stringify(path)})`);
  if (path.length > MAX_PATH_LENGTH) return fail(`must be at most ${MAX_PATH_LENGTH} characters`);
  if (/[?#]/.test(path))
    return fail('must be a path only, without ? or # (query strings reach the function)');
  if (path === '/') return { ok: true, segments: [] };
  const segments: RouteSegment[] = [];
  const texts = path.slice(1).split('/');
  for (const [i, text] of texts.entries()) {
    const segment = parseSegment(text, i === texts.length - 1);
    if (typeof segment === 'string') return fail(segment);
    segments.push(segment);
  }
  const duplicate = duplicateParam(segments);
  return duplicate ? fail(duplicate) : { ok: true, segments };
}

function parseSegment(text: string, last: boolean): RouteSegment | string {
  if (text === '') return 'must not have empty segments nor end with / (a route /a also serves /a/)';
  if (text === '*')
    return last ? { kind: 'rest' } : '* must be the last segment: it catches the rest of the path';
  if (text.includes('*')) return `* must be a whole segment, like /files/* (got ${JSON.stringify(text)})`;
  if (text.startsWith(':')) {
    const name = text.slice(1);
    if (PARAM_NAME.test(name)) return { kind: 'param', name };
    return `parameter ${JSON.stringify(text)} needs a name of letters, digits and _ that does not start with a digit`;
  }
  if (LITERAL.test(text)) return { kind: 'literal', text };
  return `segment ${JSON.stringify(text)} has characters not allowed in a URL path; use letters, digits and - . _ ~`;
}

function duplicateParam(segments: readonly RouteSegment[]): string | undefined {
  const seen = new Set<string>();
  for (const segment of segments) {
    const name = segment.kind === 'param' ? segment.name : segment.kind === 'rest' ? REST_PARAM : undefined;
    if (name === undefined) continue;
    if (seen.has(name)) {
      return segment.kind === 'rest'
        ? `parameter :${REST_PARAM} clashes with *, which puts the rest of the path in ${REST_PARAM}; rename it`
        : `parameter :${name} appears twice; give each parameter its own name`;
    }
    seen.add(name);
  }
  return undefined;
}

function fail(error: string): ParsedRoute {
  return { ok: false, error };
}

/**
 * What two routes must share to serve the same requests: literals as written, every parameter
 * alike whatever its name (`/items/:id` and `/items/:key` collide), `*` as itself.
 */
export function routeShape(segments: readonly RouteSegment[]): string {
  const parts = segments.map((s) => (s.kind === 'literal' ? s.text : s.kind === 'param' ? ':' : '*'));
  return `/${parts.join('/')}`;
}

/** Precompiles a validated route path. Throws on an invalid one: manifests are validated before this. */
export function compileRoute(path: string): CompiledRoute {
  const parsed = parseRoutePath(path);
  if (!parsed.ok) throw new Error(`compileRoute(${JSON.stringify(path)}): ${parsed.error}`);
  const hasRest = parsed.segments.at(-1)?.kind === 'rest';
  const fixed = hasRest ? parsed.segments.slice(0, -1) : parsed.segments;
  return {
    pattern: toPattern(parsed.segments),
    match: (pathname) => matchSegments(fixed, hasRest, pathname),
  };
}

function toPattern(segments: readonly RouteSegment[]): string {
  const parts = segments.map((s) =>
    s.kind === 'literal' ? s.text : s.kind === 'param' ? `{${s.name}}` : `{${REST_PARAM}+}`,
  );
  return `/${parts.join('/')}`;
}

// Walks the pathname with indexOf instead of split or a RegExp: this runs for every request.
function matchSegments(
  fixed: readonly RouteSegment[],
  hasRest: boolean,
  pathname: string,
): Record<string, string> | null {
  if (pathname.charCodeAt(0) !== SLASH) return null;
  let end = pathname.length;
  if (end > 1 && pathname.charCodeAt(end - 1) === SLASH) end--;
  const params: Record<string, string> = {};
  let pos = 1;
  let done = end <= 1; // `/` has no segments
  for (const segment of fixed) {
    if (done) return null;
    let next = pathname.indexOf('/', pos);
    if (next === -1 || next >= end) {
      next = end;
      done = true;
    }
    const text = pathname.slice(pos, next);
    if (segment.kind === 'literal') {
      if (text !== segment.text) return null;
    } else if (segment.kind === 'param') {
      const value = text === '' ? undefined : decode(text);
      if (value === undefined) return null;
      params[segment.name] = value;
    }
    pos = next + 1;
  }
  if (!hasRest) return done ? params : null;
  const rest = decode(done ? '' : pathname.slice(pos, end));
  if (rest === undefined) return null;
  params[REST_PARAM] = rest;
  return params;
}

function decode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined; // malformed escapes: the route does not match, as if the segment differed
  }
}
