/**
 * functions: deploy, roll back, remove and describe functions. The registry is the truth; the
 * router and the dispatcher follow it (at start, and after every change).
 */
import { createHash } from 'node:crypto';
import type {
  BundleStore,
  DeployedFunction,
  FunctionRecord,
  RegistryStore,
  ScheduleState,
  VersionRecord,
} from '../backends/ports.js';
import type { Deliveries } from '../dispatch/deliveries.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { GustError } from '../errors.js';
import type { Router } from '../gateway/router.js';
import { parseManifest, validateManifest } from '../manifest/load.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { BudgetChange, BudgetStatus, Budgets } from '../observe/budgets.js';
import type { Buckets } from '../services/buckets.js';
import type { Kv } from '../services/kv.js';
import type { Secrets } from '../services/secrets.js';
import type { Topics } from '../services/topics.js';
import type { Scheduler } from '../triggers/schedule/scheduler.js';
import type { SourceState, Sources } from '../triggers/sources.js';
import type { Webhooks } from '../triggers/webhook/accept.js';
import { ownedElsewhere, readBundles, routesTaken } from './deploy-refusals.js';
import { noSuchVersion, trimVersions } from './keep-versions.js';
import { missingReferences, stillUsed } from './references.js';
import { triggerLabel } from './trigger-label.js';

export interface ControlDeps {
  readonly registry: RegistryStore;
  readonly bundles: BundleStore;
  readonly dispatcher: Dispatcher;
  readonly router: Router;
  readonly deliveries: Deliveries;
  readonly topics: Topics;
  readonly kv: Kv;
  readonly buckets: Buckets;
  readonly secrets: Pick<Secrets, 'has'>;
  readonly scheduler: Scheduler;
  /** Triggers fed by the user's own systems (databases, brokers). */
  readonly sources: Pick<Sources, 'serve' | 'forget' | 'states'>;
  readonly scheduleState: Pick<ScheduleState, 'forget'>;
  /** What changed, for the platform's log (deploys, rollbacks, removals). */
  readonly audit?: (message: string, fields: Record<string, unknown>) => void;
  readonly webhooks: Pick<Webhooks, 'forget'>;
  readonly budgets: Pick<Budgets, 'status' | 'month' | 'change'>;
  /** Versions kept per function (control/keep-versions.ts); undefined: all. */
  readonly keepVersions?: number;
}

export interface FunctionSummary {
  readonly name: string;
  /** Its owner; null for a function deployed before Gust had projects. */
  readonly project: string | null;
  readonly version: number;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly scale: FunctionSpec['scale'];
  readonly routes: string[];
  /** Every trigger, one line each (control/trigger-label.ts). */
  readonly triggers: string[];
  /** When its schedules fire next (ISO), or null without one. */
  readonly nextRun: string | null;
  /** How its triggers fed by the user's systems are doing (empty without one). */
  readonly sources: SourceState[];
  readonly instances: number;
  /** Its monthly budget and what this month used of it; null without one. */
  readonly budget: BudgetStatus | null;
  readonly updatedAt: string;
}

export interface VersionInfo {
  readonly version: number;
  readonly hash: string;
  readonly createdAt: string;
  readonly active: boolean;
  /** Its monthly budget in GB-s (null: none): the active version's applies to every call. */
  readonly budget: number | null;
}

export interface VersionsAnswer {
  readonly versions: readonly VersionInfo[];
  /** What the function's calls used this month, as its budget counts them, whichever version ran. */
  readonly month: Pick<BudgetStatus, 'used' | 'since' | 'resetsAt'>;
}

export interface RollbackAnswer {
  readonly name: string;
  readonly version: number;
  /** The version that was active before. */
  readonly previous: number;
  /** Present when the budget changed with the version (a smaller one may refuse calls at once). */
  readonly budget?: BudgetChange;
}

/** A function of a deploy, and the change of its budget when it has a new active version with another. */
export interface DeployedAnswer extends DeployedFunction {
  readonly budget?: BudgetChange;
}

export interface DeployOptions {
  /** The project when gust.yaml names none (the CLI sends the folder's name). */
  readonly project?: string;
  /** Remove the project's functions that gust.yaml no longer declares. */
  readonly prune?: boolean;
  /** Move functions that another project owns to this one. */
  readonly adopt?: boolean;
}

export interface DeployAnswer {
  readonly project: string;
  readonly functions: readonly DeployedAnswer[];
  /** Functions of the project that gust.yaml no longer declares, removed (`prune`)... */
  readonly removed: readonly string[];
  /** ...or left running. */
  readonly leftRunning: readonly string[];
}

/** The project of a deploy that names none at all (neither gust.yaml nor the caller). */
export const DEFAULT_PROJECT = 'default';

export class FunctionControl {
  /** The deploy under way: one at a time, so that trimming never deletes a bundle being deployed. */
  private deploying: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ControlDeps) {}

  /** The active versions' specs of the deployed functions. */
  async activeSpecs(): Promise<FunctionSpec[]> {
    const specs: FunctionSpec[] = [];
    for (const f of await this.deps.registry.listFunctions()) {
      const spec = this.deps.dispatcher.activeSpec(f.name);
      if (spec) specs.push(spec);
    }
    return specs;
  }

  /** Serves every function's active version: at start. */
  async restore(): Promise<void> {
    for (const f of await this.deps.registry.listFunctions()) {
      const v = await this.deps.registry.getVersion(f.name, f.activeVersion);
      if (v) await this.serve(v);
    }
  }

  /**
   * A manifest (YAML text or parsed) and one bundle per function: all deployed, or nothing. The
   * functions belong to the manifest's `project`, else to `options.project` (the folder's name).
   * Functions of that project missing from the manifest are left running, or removed with `prune`
   * (their calls in flight finish first, in the background).
   */
  deploy(manifestInput: unknown, bundlesInput: unknown, options: DeployOptions = {}): Promise<DeployAnswer> {
    const run = this.deploying.then(() => this.deployNow(manifestInput, bundlesInput, options));
    this.deploying = run.catch(() => {});
    return run;
  }

  private async deployNow(
    manifestInput: unknown,
    bundlesInput: unknown,
    options: DeployOptions,
  ): Promise<DeployAnswer> {
    const result =
      typeof manifestInput === 'string' ? parseManifest(manifestInput) : validateManifest(manifestInput);
    if (!result.ok)
      throw new GustError('MANIFEST_INVALID', 'gust.yaml has errors; nothing was deployed', result.errors);
    const { functions } = result.manifest;
    const project = result.manifest.project ?? options.project ?? DEFAULT_PROJECT;
    const missing = missingReferences(result.manifest, {
      topics: this.deps.topics.namesWith(project, result.manifest.topics),
      namespaces: this.deps.kv.namesWith(project, result.manifest.kv),
      buckets: await this.deps.buckets.namesWith(result.manifest.buckets),
      secret: (name) => this.deps.secrets.has(name),
    });
    if (missing.length > 0) {
      throw new GustError(
        'MANIFEST_INVALID',
        'gust.yaml names what does not exist here; nothing was deployed',
        missing,
      );
    }
    const bundles = readBundles(bundlesInput, functions);
    const names = new Set(functions.map((f) => f.name));
    const leftOver = (await this.deps.registry.listFunctions(project))
      .map((f) => f.name)
      .filter((name) => !names.has(name));
    const pruned = options.prune === true ? leftOver : [];
    const deployedNow = await this.deps.registry.listFunctions();
    const before = new Map(deployedNow.map((f) => [f.name, this.activeBudget(f)]));
    const staying = deployedNow
      .filter((f) => !names.has(f.name) && !pruned.includes(f.name))
      .flatMap((f) => this.deps.dispatcher.activeSpec(f.name) ?? []);
    const broken = stillUsed(staying, {
      topics: this.deps.topics.goneWith(project, result.manifest.topics),
      namespaces: this.deps.kv.goneWith(project, result.manifest.kv),
    });
    if (broken.length > 0) {
      throw new GustError(
        'MANIFEST_INVALID',
        'gust.yaml stops declaring what deployed functions use; nothing was deployed',
        broken,
      );
    }
    await this.checkRoutesAgainstDeployed(functions, new Set(pruned));
    const changes = [];
    for (const spec of functions) {
      const bundleHash = await this.deps.bundles.put(bundles[spec.name]!);
      const hash = createHash('sha256').update(bundleHash).update(JSON.stringify(spec)).digest('hex');
      changes.push({ spec, hash, bundleHash });
    }
    const deployed = await this.deps.registry.deploy({ project, adopt: options.adopt === true, changes });
    if (!deployed.ok) throw ownedElsewhere(project, deployed.owned);
    await this.deps.topics.declare(project, result.manifest.topics);
    await this.deps.kv.declare(project, result.manifest.kv);
    await this.deps.buckets.declare(project, result.manifest.buckets);
    for (const d of deployed.functions.filter((x) => x.changed)) {
      const v = await this.deps.registry.getVersion(d.name, d.version);
      if (v) await this.serve(v);
    }
    for (const name of pruned) await this.remove(name);
    await trimVersions(
      this.deps,
      deployed.functions.filter((f) => f.changed).map((f) => f.name),
    );
    const changed = deployed.functions.filter((f) => f.changed || f.movedFrom !== undefined);
    this.deps.audit?.('deployed', {
      project,
      functions: changed.map((f) => `${f.name} v${f.version}`),
      unchanged: deployed.functions.length - changed.length,
      ...(pruned.length > 0 ? { removed: pruned } : {}),
    });
    return {
      project,
      functions: deployed.functions.map((d) => {
        if (!d.changed) return d;
        const spec = functions.find((f) => f.name === d.name);
        const budget = this.deps.budgets.change(d.name, before.get(d.name), spec?.budget);
        return budget ? { ...d, budget } : d;
      }),
      removed: pruned,
      leftRunning: options.prune === true ? [] : leftOver,
    };
  }

  async rollback(name: string, version?: number): Promise<RollbackAnswer> {
    const fn = await this.need(name);
    const versions = await this.deps.registry.listVersions(name);
    const target = version ?? versions.filter((v) => v.version < fn.activeVersion).at(-1)?.version;
    if (target === undefined) {
      throw new GustError('NOT_FOUND', `${name} has no version before v${fn.activeVersion} to roll back to`);
    }
    const v = versions.find((x) => x.version === target);
    if (!v) throw await noSuchVersion(this.deps, name, target);
    await this.checkRoutesAgainstDeployed([v.spec], new Set(), 'rolled back');
    const budget = this.deps.budgets.change(name, this.activeBudget(fn), v.spec.budget);
    await this.deps.registry.activate(name, target);
    await this.serve(v);
    this.deps.audit?.('rolled back', { function: name, version: target });
    const answer = { name, version: target, previous: fn.activeVersion };
    return budget ? { ...answer, budget } : answer;
  }

  /**
   * Removes the function: it is unrouted and unlisted at once; its calls running or waiting finish
   * within their timeout (`force`: are stopped now, and recorded `rejected`). `done` resolves once
   * its last instance has stopped. Its name keeps counting versions, so records stay unambiguous.
   */
  async remove(
    name: string,
    { force = false } = {},
  ): Promise<{ project: string | null; pending: number; dropped: number; done: Promise<void> }> {
    const fn = await this.need(name);
    await this.deps.registry.remove(name);
    this.deps.router.delete(name);
    this.deps.topics.forget(name);
    this.deps.kv.forget(name);
    this.deps.buckets.forget(name);
    this.deps.scheduler.forget(name);
    this.deps.scheduleState.forget(name);
    await this.deps.sources.forget(name);
    const { pending, done } = this.deps.dispatcher.remove(name, { force });
    // Its queued events go with it: a function deployed later under this name, maybe by another
    // project, must not receive them (nor find its webhook deliveries taken).
    const dropped = await this.deps.deliveries.remove(name);
    await this.deps.webhooks.forget(name);
    this.deps.audit?.('removed', {
      function: name,
      project: fn.project,
      force,
      callsInFlight: pending,
      droppedEvents: dropped,
    });
    return { project: fn.project, pending, dropped, done };
  }

  async list(project?: string): Promise<FunctionSummary[]> {
    const out: FunctionSummary[] = [];
    for (const f of await this.deps.registry.listFunctions(project)) {
      const v = await this.deps.registry.getVersion(f.name, f.activeVersion);
      if (v) out.push(this.summary(f, v));
    }
    return out;
  }

  async describe(name: string): Promise<FunctionSummary> {
    const f = await this.need(name);
    const v = await this.deps.registry.getVersion(name, f.activeVersion);
    if (!v) throw new GustError('INTERNAL', `${name}: its active version ${f.activeVersion} is missing`);
    return this.summary(f, v);
  }

  async versions(name: string): Promise<VersionsAnswer> {
    const f = await this.need(name);
    const versions = (await this.deps.registry.listVersions(name)).map((v) => ({
      version: v.version,
      hash: v.hash,
      createdAt: v.createdAt,
      active: v.version === f.activeVersion,
      budget: v.spec.budget?.gbSeconds ?? null,
    }));
    return { versions, month: this.deps.budgets.month(name) };
  }

  async need(name: string): Promise<FunctionRecord> {
    const f = await this.deps.registry.getFunction(name);
    if (!f) throw new GustError('NOT_FOUND', `no function named ${name}: gust ls lists the deployed ones`);
    return f;
  }

  /** The active version of a deployed function, and its budget (the one its calls are held to). */
  private activeBudget(f: FunctionRecord): { version: number; budget: FunctionSpec['budget'] } {
    return { version: f.activeVersion, budget: this.deps.dispatcher.activeSpec(f.name)?.budget };
  }

  private async serve(v: VersionRecord): Promise<void> {
    const bundlePath = await this.deps.bundles.localPath(v.bundleHash);
    this.deps.dispatcher.activate({ spec: v.spec, version: v.version, bundlePath });
    this.deps.router.set(v.spec);
    this.deps.topics.serve(v.spec);
    this.deps.kv.serve(v.spec);
    this.deps.buckets.serve(v.spec);
    this.deps.deliveries.serve(v.spec.name);
    this.deps.scheduler.serve(v.spec);
    this.deps.sources.serve(v.spec);
  }

  private summary(f: FunctionRecord, v: VersionRecord): FunctionSummary {
    const { spec } = v;
    return {
      name: f.name,
      project: f.project,
      version: v.version,
      runtime: spec.runtime,
      memoryMb: spec.memoryMb,
      timeoutMs: spec.timeoutMs,
      concurrency: spec.concurrency,
      scale: spec.scale,
      routes: spec.triggers.flatMap((t) => {
        if (t.type === 'http') return [`${t.methods.length ? t.methods.join(',') : 'ANY'} ${t.path}`];
        if (t.type === 'webhook') return [`POST ${t.path} (webhook, ${t.verify})`];
        return [];
      }),
      triggers: spec.triggers.map(triggerLabel),
      nextRun: this.deps.scheduler.nextRun(f.name),
      sources: this.deps.sources.states(f.name),
      instances: this.deps.dispatcher.instances(f.name),
      budget: spec.budget ? this.deps.budgets.status(f.name, spec.budget) : null,
      updatedAt: f.updatedAt,
    };
  }

  /**
   * Routes of the incoming functions against those of the other functions deployed, but for those
   * this deploy removes (`leaving`).
   */
  private async checkRoutesAgainstDeployed(
    incoming: readonly FunctionSpec[],
    leaving: ReadonlySet<string> = new Set(),
    what = 'deployed',
  ): Promise<void> {
    const names = new Set(incoming.map((s) => s.name));
    const others: { spec: FunctionSpec; project: string | null }[] = [];
    for (const f of await this.deps.registry.listFunctions()) {
      if (names.has(f.name) || leaving.has(f.name)) continue;
      const v = await this.deps.registry.getVersion(f.name, f.activeVersion);
      if (v) others.push({ spec: v.spec, project: f.project });
    }
    const refused = routesTaken(others, incoming, what);
    if (refused) throw refused;
  }
}
