/**
 * data-folder: the files of a data folder the platform keeps beside its database: the lock (one
 * platform per folder), the master secret, the admin key.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Keys } from './control/keys.js';
import { GustError } from './errors.js';
import { isAlive } from './lib/processes.js';

const LOCK_FILE = 'gust.pid';

/** One platform per data folder: a second one would share its SQLite file and its keys. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const holder = await runningOn(dataDir);
  if (holder !== undefined && holder !== process.pid) {
    throw new GustError(
      'CONFLICT',
      `another Gust (pid ${holder}) is running on ${dataDir}: stop it, or pass another --data`,
    );
  }
  const file = path.join(dataDir, LOCK_FILE);
  await writeFile(file, `${process.pid}\n`, { mode: 0o600 });
  return () => rm(file, { force: true });
}

/** The pid of the live process that holds the data folder's lock, if one does (`gust dev` attaches to it). */
export async function runningOn(dataDir: string): Promise<number | undefined> {
  const holder = Number((await readFile(path.join(dataDir, LOCK_FILE), 'utf8').catch(() => '')).trim());
  return Number.isInteger(holder) && holder > 0 && isAlive(holder) ? holder : undefined;
}

const SECRET_BYTES = 32;

/**
 * The master secret (each key's SigV4 secret derives from it). Made once, written whole or not at
 * all (temporary file, then rename); a damaged one is refused, never used as a weak key.
 */
export async function secretFile(file: string): Promise<Buffer> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new GustError('UNAVAILABLE', `cannot read ${file}: ${e.message}`);
  });
  if (text === undefined) {
    const secret = randomBytes(SECRET_BYTES);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, secret.toString('base64url'), { mode: 0o600 });
    await rename(tmp, file);
    return secret;
  }
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length !== SECRET_BYTES) {
    throw new GustError(
      'UNAVAILABLE',
      `${file} is damaged (not ${SECRET_BYTES} bytes): restore it from a backup, or delete it and create every key again`,
    );
  }
  return secret;
}

/** The admin key is made on first start (or when the one on file no longer opens this platform). */
export async function ensureAdminKey(keys: Keys, file: string): Promise<void> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing && (await keys.verifyBearer(existing.trim()))) return;
  const created = await keys.create({ scope: 'admin' });
  await writeFile(file, `${created.key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
