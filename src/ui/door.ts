/**
 * ui door: the dashboard at /_gust/ui, files built ahead of time (scripts/build-ui.mjs) into
 * dist/ui/public with their gzip and brotli forms, read once at start and served as they are.
 * Hashed files are kept a year by browsers; index.html is checked again each time (its names change
 * with each build). The page holds no data: every read goes through the control API with a key, so
 * the files need none; a key sent with the page itself (a proxy adding the header) is checked, and a
 * bad one refused with a page that says so.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Keys } from '../control/keys.js';
import { GustError } from '../errors.js';
import { authenticate } from '../gateway/auth.js';
import { type EdgeHandler, type EdgeResponse, errorResponse, header } from '../gateway/http.js';

export const UI_PATH = '/_gust/ui';
export const isUiPath = (pathname: string): boolean =>
  pathname === UI_PATH || pathname.startsWith(`${UI_PATH}/`);

/** Where the build puts the files: next to this module once compiled (dist/ui/public). */
export const UI_FILES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

interface Asset {
  readonly type: string;
  readonly etag: string;
  readonly raw: Buffer;
  readonly gzip: Buffer | undefined;
  readonly br: Buffer | undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page runs only its own files, talks only to its own origin, and is framed by no one. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Reads the built files; an empty map when the dashboard was not built (the door then says so). */
export async function loadAssets(dir = UI_FILES): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const names = await readdir(dir).catch(() => [] as string[]);
  const has = new Set(names);
  for (const name of names) {
    if (name.endsWith('.gz') || name.endsWith('.br')) continue;
    const raw = await readFile(path.join(dir, name));
    const optional = (ext: string) =>
      has.has(name + ext) ? readFile(path.join(dir, name + ext)) : undefined;
    assets.set(name, {
      type: TYPES[path.extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`,
      raw,
      gzip: await optional('.gz'),
      br: await optional('.br'),
    });
  }
  return assets;
}

export function uiDoor(deps: { keys: Keys; assets: Map<string, Asset> }): EdgeHandler {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return withHeaders(errorResponse(new GustError('METHOD_NOT_ALLOWED', 'the dashboard takes GET only')), {
        allow: 'GET, HEAD',
      });
    }
    const name = req.pathname.slice(UI_PATH.length + 1);
    const file = name.includes('/') ? undefined : deps.assets.get(name);
    const page = file === undefined || name === 'index.html';
    const asset = page ? deps.assets.get('index.html') : file;
    if (!asset) {
      return errorResponse(
        new GustError('NOT_FOUND', 'the dashboard is not built: run npm run build in the Gust folder'),
      );
    }
    if (page && header(req, 'authorization') !== undefined) {
      const refused = await authenticate(req, deps.keys, { sigv4: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (refused) return refusedPage(refused);
    }
    const headers: Record<string, string> = {
      'content-type': asset.type,
      etag: asset.etag,
      vary: 'accept-encoding',
      'cache-control': page ? 'no-cache' : 'public, max-age=31536000, immutable',
      ...(page ? PAGE_HEADERS : { 'x-content-type-options': 'nosniff' }),
    };
    if (header(req, 'if-none-match') === asset.etag) return { status: 304, headers };
    const accepted = header(req, 'accept-encoding') ?? '';
    const [encoding, body] =
      asset.br && /\bbr\b/.test(accepted)
        ? ['br', asset.br]
        : asset.gzip && /\bgzip\b/.test(accepted)
          ? ['gzip', asset.gzip]
          : [undefined, asset.raw];
    if (encoding) headers['content-encoding'] = encoding;
    headers['content-length'] = String(body.length);
    return { status: 200, headers, body: req.method === 'HEAD' ? new Uint8Array() : body };
  };
}

const withHeaders = (r: EdgeResponse, extra: Record<string, string>): EdgeResponse => ({
  ...r,
  headers: { ...r.headers, ...extra },
});

/** A page, not JSON: whoever sent the key is looking at a browser. */
function refusedPage(e: unknown): EdgeResponse {
  const err = e instanceof GustError ? e : new GustError('UNAUTHORIZED', 'the key was refused');
  const message = err.message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Key refused · Gust</title><main style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem"><h1>Key refused</h1><p role="alert">The key sent with this request was refused: ${message}.</p><p>Send a valid key (Authorization: Bearer &lt;key&gt;), or open the dashboard without one and enter a key in the page.</p></main></html>`;
  return {
    status: err.status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...PAGE_HEADERS },
    body,
  };
}
