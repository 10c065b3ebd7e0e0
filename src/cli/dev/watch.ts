/**
 * watch: a project folder watched for saves (`gust dev`). One inotify watch per folder (fs.watch,
 * not recursive: Node 20's recursive mode walks into node_modules, which can hold tens of
 * thousands of folders and exhaust the watch limit), folders made later watched as they appear.
 * A save is often a burst of events (a temporary file written then renamed, a truncate then a
 * write): they are told as one change once DEBOUNCE_MS pass without another, with the time of the
 * first, from which `gust dev` counts save-to-live.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isDirectory } from '../../lib/files.js';

/** Long enough to join the events of one save, short beside the 300 ms that save-to-live aims at. */
export const DEBOUNCE_MS = 25;

/** Never looked into: dependencies, history, build output, Gust's own data folder. */
const IGNORED_FOLDERS = new Set(['node_modules', '.git', 'dist', '.gust']);

/** Editors' own files beside the one saved: swap files, backups, lock files, vim's write test. */
const EDITOR_FILE = /(^\.#|^#.*#$|~$|\.sw[a-p]$|^4913$)/;

export interface WatchOptions {
  readonly root: string;
  /** Folders (absolute) never watched, besides IGNORED_FOLDERS: the data folder inside the project. */
  readonly skip?: readonly string[];
  /**
   * A burst of events has ended: when its first came (performance.now()), and the paths they
   * named (files, and folders whose events name no file).
   */
  readonly changed: (at: number, paths: ReadonlySet<string>) => void;
}

export interface Watch {
  close(): void;
}

export async function watchTree(options: WatchOptions): Promise<Watch> {
  const watchers = new Map<string, FSWatcher>();
  const skip = new Set((options.skip ?? []).map((p) => path.resolve(p)));
  let first: number | undefined;
  let paths = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const ignored = (full: string) => skip.has(full) || IGNORED_FOLDERS.has(path.basename(full));

  const seen = (dir: string, filename: string | null) => {
    const name = filename === null ? '' : path.basename(filename);
    if (EDITOR_FILE.test(name)) return;
    const full = path.join(dir, name);
    if (name !== '' && ignored(full)) return;
    first ??= performance.now();
    paths.add(full);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const burst = { at: first ?? performance.now(), paths };
      first = undefined;
      paths = new Set();
      options.changed(burst.at, burst.paths);
    }, DEBOUNCE_MS);
    // a folder made (or moved in) since: watched from now on
    if (name !== '' && !watchers.has(full)) void add(full);
  };

  async function add(dir: string): Promise<void> {
    if (closed || watchers.has(dir) || ignored(dir) || !(await isDirectory(dir))) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, filename) => seen(dir, filename));
    } catch {
      return; // gone already, or not readable
    }
    // removed, or its files no longer readable: forget it (a folder made again is added again)
    watcher.on('error', () => forget(dir));
    watchers.set(dir, watcher);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => add(path.join(dir, e.name))));
  }

  function forget(dir: string): void {
    watchers.get(dir)?.close();
    watchers.delete(dir);
  }

  await add(path.resolve(options.root));
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const dir of [...watchers.keys()]) forget(dir);
    },
  };
}
