/**
 * gust: a real platform, started as a user starts it (`gust up DIR --port 0 --data TMP`), and
 * the control API with its admin key.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, stop, waitForLine } from './procs.mjs';

export const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = path.join(ROOT, 'bin', 'gust.js');

const made = new Set();

/** A new temporary folder, removed by removeTempDirs at the end. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export async function removeTempDirs() {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
  made.clear();
}

/** Writes a project (paths relative to a new temp folder) and returns the folder. */
export async function writeProject(files) {
  const dir = await tempDir('gust-bench-project-');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/**
 * Starts `gust up DIR` (on `dataDir`, else a new temp folder) and resolves once it listens:
 * `{url, s3Url, key, dataDir, proc}`. `nodeArgs`
 * go to the platform's node before the script (`--cpu-prof`, which NODE_OPTIONS refuses); `tree`:
 * another built Gust to start (a checkout of an earlier commit, to compare with in the same run).
 */
export async function startGust({ dir, env = {}, nodeArgs = [], dataDir: given, tree }) {
  const dataDir = given ?? (await tempDir('gust-bench-data-'));
  // `gust up` records itself in the CLI's config folder: a temporary one, not the user's
  const configHome = await tempDir('gust-bench-config-');
  const bin = tree === undefined ? BIN : path.join(path.resolve(tree), 'bin', 'gust.js');
  const args = [...nodeArgs, bin, 'up', dir, '--port', '0', '--s3-port', '0', '--data', dataDir];
  const proc = start(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: configHome, ...env },
  });
  try {
    const ready = await waitForLine(
      proc,
      /Gust is listening on http:\/\/\S+[\s\S]*?S3 API on http:\/\/\S+/,
      60_000,
    );
    const url = /listening on (http:\/\/\S+)/.exec(ready)[1];
    const s3Url = /S3 API on (http:\/\/\S+)/.exec(ready)[1];
    const key = (await readFile(path.join(dataDir, 'admin.key'), 'utf8')).trim();
    return { url, s3Url, key, dataDir, proc };
  } catch (e) {
    await stop(proc);
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** GET on the control API with the admin key; throws unless 200. */
export async function apiGet(g, route) {
  const res = await fetch(`${g.url}/_gust/api/v1${route}`, { headers: { authorization: `Bearer ${g.key}` } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`GET ${route} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Sets a secret through the control API. */
export async function setSecret(g, name, value) {
  const res = await fetch(`${g.url}/_gust/api/v1/secrets/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${g.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  if (res.status !== 200) throw new Error(`setting ${name} answered ${res.status}: ${await res.text()}`);
}

/** `gust deploy DIR`, as a user deploys. */
export async function deploy(g, dir) {
  const configHome = await tempDir('gust-bench-config-');
  await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, 'deploy', dir],
      {
        env: {
          PATH: process.env.PATH ?? '',
          XDG_CONFIG_HOME: configHome,
          GUST_URL: g.url,
          GUST_API_KEY: g.key,
        },
      },
      (e, _stdout, stderr) => (e ? reject(new Error(`gust deploy failed: ${stderr}`)) : resolve()),
    );
  });
}
