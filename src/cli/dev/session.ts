/**
 * session: what `gust dev` does with each change: gust.yaml read and checked, every handler
 * bundled again (an esbuild context kept per handler, so a rebuild parses only what changed), and
 * when a bundle or gust.yaml differs from what is live, the deploy of `gust deploy` through the
 * control API (the platform makes a new version of the changed functions only). One line says how
 * it went, on stderr: `✓ hello v4 live in 142 ms`, or `✗` and the error (the live versions stay).
 * Changes that come while a deploy runs are deployed together once it ends.
 */
import { readFile } from 'node:fs/promises';
import { Bundler } from '../../build/bundle.js';
import type { DeployAnswer } from '../api.js';
import type { Palette } from '../colors.js';
import { budgetWarnings, bundleFailure, readProject, upload } from '../commands/deploy.js';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';
import { bundlingProgress } from '../progress.js';

export interface SessionDeps {
  /** Its client is the platform dev deploys to. */
  readonly cli: Cli;
  readonly dir: string;
  /**
   * Follows the logs of these functions (those of gust.yaml) and no others; resolves once a call
   * made from now on is sure to be shown.
   */
  readonly follow: (names: readonly string[]) => Promise<void>;
  /** For stderr. */
  readonly colors: Palette;
}

interface Live {
  readonly manifest: string;
  readonly bundles: Readonly<Record<string, string>>;
}

export class DevSession {
  private readonly bundler: Bundler;
  /** What the last deploy made live. */
  private live: Live | undefined;
  /** The last attempt failed (a line with ✗ is the last one said). */
  private failing = false;
  /** When the first change not deployed yet was seen (performance.now()). */
  private pending: number | undefined;
  /** The files it named; undefined: not known (every function is bundled again). */
  private files: Set<string> | undefined;
  private running = false;
  private closed = false;
  private readonly saidLeftRunning = new Set<string>();

  constructor(private readonly deps: SessionDeps) {
    this.bundler = new Bundler(deps.dir);
  }

  /**
   * Files changed at `at` (performance.now()): deployed now, or after the deploy under way. No
   * files: anything may have changed (the first deploy).
   */
  changed(at: number = performance.now(), files?: ReadonlySet<string>): void {
    this.pending = Math.min(this.pending ?? at, at);
    if (files === undefined) this.files = undefined;
    else if (this.files !== undefined) for (const file of files) this.files.add(file);
    if (!this.running) void this.drain();
  }

  /** Stops deploying; a deploy under way is left to end with the process. */
  async close(): Promise<void> {
    this.closed = true;
    await this.bundler.dispose();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending !== undefined && !this.closed) {
        const { pending: at, files } = this;
        this.pending = undefined;
        this.files = new Set();
        await this.deploy(at, files).catch((e: unknown) => {
          if (e instanceof CliError) this.fail(e);
          else this.fail(new CliError(`unexpected error: ${e instanceof Error ? e.message : String(e)}`));
        });
      }
    } finally {
      this.running = false;
    }
  }

  /** Throws a CliError for what the user is to fix: a bad gust.yaml, a handler that does not bundle. */
  private async deploy(at: number, files: ReadonlySet<string> | undefined): Promise<void> {
    const { cli, dir } = this.deps;
    const read = await readProject(cli, dir);
    const first = this.live === undefined;
    const { functions } = read.manifest;
    const progress = cli.progress();
    if (first) progress.update(`bundling ${functions.length} function${functions.length === 1 ? '' : 's'}…`);
    const bundled = await this.bundler
      .bundle(functions, first ? { onBundled: bundlingProgress(progress) } : files && { changed: files })
      .finally(() => progress.done());
    if (!bundled.ok) throw bundleFailure(bundled.errors);
    const next: Live = { manifest: await readFile(read.path, 'utf8'), bundles: bundled.bundles };
    if (this.live !== undefined && same(this.live, next)) {
      // saved as it was (or an editor's own file): nothing to say, unless it undoes a mistake
      if (this.failing) this.say(`${this.deps.colors.green('✓')} back to what is live (nothing to deploy)`);
      this.failing = false;
      return;
    }
    const answer = await upload(cli, { dir, ...next });
    if (this.closed) return;
    this.live = next;
    this.failing = false;
    // before saying it is live: a call made on seeing that line has its logs shown
    await this.deps.follow(answer.functions.map((f) => f.name));
    this.say(
      `${this.deps.colors.green('✓')} ${liveText(answer, first)} in ${Math.round(performance.now() - at)} ms`,
    );
    for (const warning of budgetWarnings(answer)) this.say(`  ${warning}`);
    for (const name of answer.leftRunning.filter((n) => !this.saidLeftRunning.has(n))) {
      this.saidLeftRunning.add(name);
      this.say(`  ${name} is not in gust.yaml: left running (gust deploy --prune removes it)`);
    }
  }

  private fail(e: CliError): void {
    if (this.closed) return;
    this.failing = true;
    const [first, ...rest] =
      e.details.length === 1 && e.code === 'BUILD_FAILED' ? [e.details[0]!] : [e.message, ...e.details];
    this.say(`${this.deps.colors.red('✗')} ${first}`);
    for (const line of rest) this.say(`    ${line}`);
  }

  private say(line: string): void {
    if (!this.closed) this.deps.cli.err(line);
  }
}

/** `hello v4` (`hello v4, world v2`) `live`: the changed functions, or on the first deploy all. */
function liveText(answer: DeployAnswer, first: boolean): string {
  const shown = first
    ? answer.functions
    : answer.functions.filter((f) => f.changed || f.movedFrom !== undefined);
  if (shown.length === 0) return 'gust.yaml deployed (no function changed)';
  return `${shown.map((f) => `${f.name} v${f.version}`).join(', ')} live`;
}

function same(a: Live, b: Live): boolean {
  if (a.manifest !== b.manifest) return false;
  const names = Object.keys(a.bundles);
  return names.length === Object.keys(b.bundles).length && names.every((n) => a.bundles[n] === b.bundles[n]);
}
