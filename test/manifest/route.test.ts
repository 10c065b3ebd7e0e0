import { describe, expect, it } from 'vitest';
import { compileRoute, parseRoutePath, routeShape } from '../../src/manifest/route.js';

function errorOf(path: string): string {
  const parsed = parseRoutePath(path);
  if (parsed.ok) throw new Error(`expected ${path} to be refused`);
  return parsed.error;
}

describe('parseRoutePath', () => {
  it('splits a path into literal, parameter and rest segments', () => {
    const parsed = parseRoutePath('/users/:id/files/*');
    expect(parsed).toEqual({
      ok: true,
      segments: [
        { kind: 'literal', text: 'users' },
        { kind: 'param', name: 'id' },
        { kind: 'literal', text: 'files' },
        { kind: 'rest' },
      ],
    });
  });

  it('reads / as a path with no segments', () => {
    expect(parseRoutePath('/')).toEqual({ ok: true, segments: [] });
  });

  it.each([
    ['items', 'must start with /'],
    ['/a//b', 'must not have empty segments'],
    ['/a/', 'nor end with /'],
    ['/files/*/x', '* must be the last segment'],
    ['/files*', '* must be a whole segment'],
    ['/items/:1d', 'parameter ":1d" needs a name'],
    ['/items/:', 'parameter ":" needs a name'],
    ['/a/:id/b/:id', 'parameter :id appears twice'],
    ['/a/:proxy/*', 'clashes with *'],
    ['/a b', 'characters not allowed in a URL path'],
    ['/caf%C3%A9', 'characters not allowed in a URL path'],
    ['/search?q=1', 'without ? or #'],
    [`/${'a'.repeat(1100)}`, 'at most 1024 characters'],
  ])('refuses %j: %s', (path, message) => {
    expect(errorOf(path)).toContain(message);
  });

  it('gives parameters the same shape whatever their names, and keeps literals and * apart', () => {
    const shape = (path: string) => {
      const parsed = parseRoutePath(path);
      return parsed.ok ? routeShape(parsed.segments) : 'invalid';
    };
    expect(shape('/items/:id')).toBe(shape('/items/:key'));
    expect(shape('/items/:id')).not.toBe(shape('/items/*'));
    expect(shape('/items/:id')).not.toBe(shape('/items/id'));
    expect(shape('/')).toBe('/');
  });
});

describe('compileRoute', () => {
  it('names the route the way API Gateway does', () => {
    expect(compileRoute('/items/:id').pattern).toBe('/items/{id}');
    expect(compileRoute('/files/*').pattern).toBe('/files/{proxy+}');
    expect(compileRoute('/').pattern).toBe('/');
  });

  it('matches literal segments exactly, case included', () => {
    const route = compileRoute('/health/live');
    expect(route.match('/health/live')).toEqual({});
    expect(route.match('/Health/live')).toBeNull();
    expect(route.match('/health')).toBeNull();
    expect(route.match('/health/live/more')).toBeNull();
    expect(route.match('/health/liv')).toBeNull();
  });

  it('captures one URL-decoded segment per parameter', () => {
    const route = compileRoute('/users/:user/posts/:post');
    expect(route.match('/users/ada/posts/42')).toEqual({ user: 'ada', post: '42' });
    expect(route.match('/users/caf%C3%A9/posts/a%2Fb')).toEqual({ user: 'café', post: 'a/b' });
    expect(route.match('/users/ada/posts')).toBeNull();
    expect(route.match('/users/ada/posts/42/x')).toBeNull();
  });

  it('does not match a segment that fails to decode, nor an empty one', () => {
    const route = compileRoute('/items/:id');
    expect(route.match('/items/%E0%A4%A')).toBeNull();
    expect(route.match('/items/%')).toBeNull();
    expect(route.match('/items/')).toBeNull();
    expect(compileRoute('/items/:id/x').match('/items//x')).toBeNull();
  });

  it('ignores one trailing slash in the request', () => {
    expect(compileRoute('/a').match('/a/')).toEqual({});
    expect(compileRoute('/items/:id').match('/items/7/')).toEqual({ id: '7' });
    expect(compileRoute('/a').match('/a//')).toBeNull();
  });

  it('puts the rest of the path, decoded, in proxy, and accepts an empty rest', () => {
    const route = compileRoute('/files/*');
    expect(route.match('/files/a/b%20c.txt')).toEqual({ proxy: 'a/b c.txt' });
    expect(route.match('/files/a/')).toEqual({ proxy: 'a' });
    expect(route.match('/files')).toEqual({ proxy: '' });
    expect(route.match('/files/')).toEqual({ proxy: '' });
    expect(route.match('/filesx')).toBeNull();
    expect(route.match('/files/%E0%A4%A')).toBeNull();
    expect(compileRoute('/*').match('/')).toEqual({ proxy: '' });
    expect(compileRoute('/u/:id/*').match('/u/7/a/b')).toEqual({ id: '7', proxy: 'a/b' });
  });

  it('matches / only for the root route', () => {
    expect(compileRoute('/').match('/')).toEqual({});
    expect(compileRoute('/').match('/a')).toBeNull();
    expect(compileRoute('/a').match('/')).toBeNull();
  });

  it('refuses a pathname that does not start with /', () => {
    expect(compileRoute('/a').match('a')).toBeNull();
    expect(compileRoute('/*').match('')).toBeNull();
  });

  it('throws on a path that a manifest would have refused, since that is a bug in the caller', () => {
    expect(() => compileRoute('items')).toThrow(/must start with \//);
  });
});
