/**
 * Runs the built CLI (`node bin/gust.js`, as users do), and servers that are NOT Gust, for the
 * CLI's answers to them. How the CLI talks to Gust is tested against a real `gust up`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_HOME } from '../helpers/gust.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/gust.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Written to standard input, which is then closed; without it, stdin is empty. */
  readonly input?: string;
}

/**
 * The environment of the test run without any GUST_* setting, so only `env` decides; the config
 * folder is the test file's own (see CONFIG_HOME), never the real ~/.config.
 */
export function cleanEnv(extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GUST_') && v !== undefined) env[k] = v;
  return { ...env, XDG_CONFIG_HOME: CONFIG_HOME, ...extra };
}

export function gust(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(options.input ?? '');
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The one JSON error `--json` prints on stderr: `{"error": {"code", "message"}}`, nothing else. */
export function jsonError(stderr: string): { code: string; message: string; details?: string[] } {
  const lines = stderr.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON on stderr, got: ${stderr}`);
  return (JSON.parse(lines[0]!) as { error: { code: string; message: string; details?: string[] } }).error;
}

export interface NotGust {
  readonly url: string;
  close(): Promise<void>;
}

/** A web server that is not Gust: it answers every request with this status and an HTML page. */
export async function notGust(status = 200): Promise<NotGust> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end('<html><body>It works!</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A URL where nothing listens: a port that was free a moment ago. */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
