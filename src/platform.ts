import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { FileBundles } from './backends/embedded/bundles.js';
import { SqliteCaptureTeardowns } from './backends/embedded/capture-teardowns.js';
import { openDatabase } from './backends/embedded/database.js';
import { SqliteInvocations } from './backends/embedded/invocations.js';
import { SqliteKv } from './backends/embedded/kv.js';
import { FileObjects } from './backends/embedded/objects.js';
import { SqliteQueue } from './backends/embedded/queue.js';
import { SqliteRegistry } from './backends/embedded/registry.js';
import { SqliteScheduleState } from './backends/embedded/schedules.js';
import { SqliteWebhookDeliveries } from './backends/embedded/webhook-deliveries.js';
import type { Enqueue } from './backends/ports.js';
import type { BundleProgress } from './build/bundle.js';
import type { PlatformConfig } from './config/config.js';
import { controlApi } from './control/api.js';
import { deployFolder } from './control/deploy-folder.js';
import { type DeployAnswer, FunctionControl } from './control/functions.js';
import { noSuchVersionText } from './control/keep-versions.js';
import { Keys } from './control/keys.js';
import { ensureAdminKey, lockDataDir, secretFile } from './data-folder.js';
import { Deliveries } from './dispatch/deliveries.js';
import { type Bindings, Dispatcher } from './dispatch/dispatcher.js';
import { GustError } from './errors.js';
import { wrapData } from './events/ingress.js';
import { failedMessages, shapeEvent } from './events/shapes.js';
import { eventsDoor } from './gateway/events.js';
import { functionDoor, screenRoutes } from './gateway/functions.js';
import { json } from './gateway/http.js';
import { lambdaApi } from './gateway/lambda-api.js';
import { metricsDoor } from './gateway/metrics.js';
import { Router } from './gateway/router.js';
import { S3Server } from './gateway/s3/server.js';
import { Gateway } from './gateway/server.js';
import { Budgets } from './observe/budgets.js';
import { keptInputs, spanExporter } from './observe/exporters.js';
import { byFunction, Metrics } from './observe/metrics.js';
import { prunerLog } from './observe/prune-log.js';
import { Recorder } from './observe/records.js';
import { RecordPruner } from './observe/retention.js';
import { Usage } from './observe/usage.js';
import { NodeSandboxFactory } from './runtime/node/factory.js';
import { bindingHost } from './services/bindings.js';
import { Buckets } from './services/buckets.js';
import { Kv } from './services/kv.js';
import { Secrets } from './services/secrets.js';
import { Topics } from './services/topics.js';
import { capturePlatform } from './triggers/postgres/capture.js';
import { PostgresSource } from './triggers/postgres/source.js';
import { Scheduler } from './triggers/schedule/scheduler.js';
import { Sources } from './triggers/sources.js';
import { StreamSource } from './triggers/stream/source.js';
import { Webhooks } from './triggers/webhook/accept.js';
import { webhookDoor } from './triggers/webhook/door.js';
import { loadAssets, uiDoor } from './ui/door.js';

export interface Platform {
  readonly url: string;
  /** The S3 API's own address. */
  readonly s3Url: string;
  readonly dataDir: string;
  readonly adminKeyPath: string;
  /** What `gust up DIR` deployed at start, if it had a folder with gust.yaml. */
  readonly deployed: DeployAnswer | undefined;
  close(): Promise<void>;
}

/** The built sandbox runtime, whether this file runs from src/ (tests) or dist/. */
const RUNTIME_SOURCE = path.resolve(fileURLToPath(import.meta.url), '../../dist/runtime/sandbox');
const WAIT_QUEUE_PER_FUNCTION = 100;
/** A delivery not acked within this is given again (its consumer died); in-flight ones are extended. */
const QUEUE_LEASE_MS = 60_000;
/** Expired KV keys are never read; this only frees their space, a batch at a time. */
const KV_PURGE_EVERY_MS = 60_000;
const CLOSE_GRACE_MS = 30_000;

export interface StartOptions {
  /** How bundling the deploy folder's functions goes (`gust up DIR` draws it on a terminal). */
  readonly onBundled?: BundleProgress;
}

export async function startPlatform(
  config: PlatformConfig,
  log: Logger,
  options: StartOptions = {},
): Promise<Platform> {
  const { dataDir } = config;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700); // a folder that already existed is made private too
  const releaseLock = await lockDataDir(dataDir);
  // What is open so far, closed in reverse should the start fail before it listens: a half-started
  // platform must exit, not hang on its stem cells and timers.
  const undo: (() => unknown)[] = [releaseLock];
  try {
    return await start(undo);
  } catch (e) {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
    throw e;
  }

  async function start(undo: (() => unknown)[]): Promise<Platform> {
    const db = openDatabase(path.join(dataDir, 'gust.db'));
    undo.push(() => db.close());
    const registry = new SqliteRegistry(db);
    const invocations = new SqliteInvocations(db);
    // What each invocation got, for gust replay, in a file of its own written by a worker thread
    // (observe/kept-inputs.ts); --replay-retention 0: none kept, and those kept before go at once.
    const inputs = await keptInputs(config, log);
    undo.push(() => inputs?.close());
    const bundles = new FileBundles(path.join(dataDir, 'bundles'));
    const master = await secretFile(path.join(dataDir, 'master.key'));
    const keys = new Keys(registry, master);
    const secrets = await Secrets.open(registry, master);
    const adminKeyPath = path.join(dataDir, 'admin.key');
    await ensureAdminKey(keys, adminKeyPath);

    // Every function's GB-s this month, from the store before any call, then from each record.
    const budgets = new Budgets();
    await budgets.seed(invocations);
    const budgeted = () =>
      budgets.statuses([...dispatcher.names()].flatMap((n) => dispatcher.activeSpec(n) ?? []));
    // Read at scrape time only: by then every part below exists.
    const metrics = config.metrics
      ? new Metrics({
          instances: () => byFunction(dispatcher.pools().map((p) => p.census())),
          stemCells: () => factory.stemCells(),
          queues: async () =>
            (await queue.stats()).flatMap((q) =>
              q.queue.startsWith('fn.') ? [{ ...q, function: q.queue.slice(3) }] : [],
            ),
          subscriptions: () => topics.list().map((t) => ({ topic: t.name, functions: t.subscribers })),
          functions: () => dispatcher.names(),
          budgets: budgeted,
          budgetRejections: () => budgets.rejections(),
        })
      : undefined;
    const recorder = new Recorder(
      invocations,
      (e) => log.error({ err: e }, 'writing invocation records failed'),
      {
        observe: metrics
          ? (r) => {
              metrics.recorded(r);
              budgets.recorded(r);
            }
          : (r) => budgets.recorded(r),
        ...(inputs ? { inputs } : {}),
      },
    );
    const traces = await spanExporter(config, log);
    const factory = await NodeSandboxFactory.create({
      runtimeSource: RUNTIME_SOURCE,
      stemCellsPerSize: config.stemCells,
      sandboxUid: config.sandboxUid,
      warn: (message) => log.warn(message),
    });
    undo.push(() => factory.close());
    const dispatcher: Dispatcher = new Dispatcher({
      factory,
      recorder,
      queuePerFunction: WAIT_QUEUE_PER_FUNCTION,
      secretEnv: (names) => secrets.env(names),
      secretMasks: (names) => secrets.masks(names),
      budgets,
      ...(traces ? { spans: traces } : {}),
      // topics and deliveries are made just below; calls come long after
      bindings: (spec, inv): Bindings =>
        bindingHost({ topics, kv, buckets, deliveries, dispatcher: () => dispatcher }, spec, inv),
      loadVersion: async (name, version) => {
        const v = await registry.getVersion(name, version);
        return v && { spec: v.spec, version: v.version, bundlePath: await bundles.localPath(v.bundleHash) };
      },
    });
    const queue = new SqliteQueue(db, { leaseMs: QUEUE_LEASE_MS, maxDepth: config.queueDepth });
    undo.push(() => queue.close());
    const deliveries: Deliveries = new Deliveries({
      queue,
      dispatcher,
      specOf: (name) => dispatcher.activeSpec(name),
      shape: (delivered, spec, batch) =>
        shapeEvent(delivered, { function: spec.name, events: spec.events, batch }),
      failed: (result, delivered, spec) => failedMessages(result, delivered, spec.events),
      // `topics` is made just below: dead letters are published long after both exist
      deadLetter: async (topic, letter, trace) => {
        await topics.publish(topic, [wrapData(topic, letter)], trace);
      },
      leaseMs: QUEUE_LEASE_MS,
      recorded: () => recorder.written(),
      // `streams` is made below; events settle long after
      settled: (events) => streams.settled(events),
      onError: (e, what) => log.error({ err: e }, what),
      ...(metrics ? { observe: metrics } : {}),
    });
    const topics = await Topics.open(registry, deliveries);
    // Queues a change's trigger events inside its transaction; a full queue refuses the change.
    const enqueueWithin = (kind: string) => (items: readonly Enqueue[]) => {
      const queued = queue.enqueueWithin(items);
      if (!queued.ok) {
        const fn = queued.full.replace(/^fn\./, '');
        metrics?.queueFull(fn, items.filter((i) => i.queue === queued.full).length);
        throw new GustError(
          'THROTTLED',
          `the queue of ${fn}, which a ${kind} trigger runs on this change, is full (${queued.depth} events waiting); nothing was changed: retry later`,
        );
      }
      return queued.committed;
    };
    const kv = await Kv.open(registry, new SqliteKv(db, { enqueue: enqueueWithin('kv') }));
    const buckets = await Buckets.open(
      await FileObjects.open(db, { dir: path.join(dataDir, 'buckets'), enqueue: enqueueWithin('bucket') }),
    );
    const purgeKv = setInterval(() => {
      kv.purgeExpired().catch((e: unknown) => log.error({ err: e }, 'purging expired KV keys'));
    }, KV_PURGE_EVERY_MS).unref();
    undo.push(() => clearInterval(purgeKv));
    const scheduleState = new SqliteScheduleState(db);
    const scheduler = new Scheduler({
      state: scheduleState,
      deliveries,
      prewarm: (name) => dispatcher.prewarm(name),
      onError: (e, what) => log.error({ err: e }, what),
    });
    // Triggers fed by the user's systems; each kind is added to this list.
    const streams = new StreamSource({
      submit: (events) => deliveries.submit(events),
      secret: (name) => secrets.env([name])[name],
      onError: (e, what) => log.error({ err: e }, what),
      warn: (message) => log.warn(message),
    });
    const sources = new Sources([
      streams,
      new PostgresSource({
        platform: capturePlatform(master),
        deliveries,
        teardowns: new SqliteCaptureTeardowns(db),
        secret: (name) => (secrets.has(name) ? secrets.env([name])[name] : undefined),
        warn: (message) => log.warn(message),
        onError: (e, what) => log.error({ err: e }, what),
      }),
    ]);
    undo.push(() => sources.close());
    const webhooks = new Webhooks({
      store: new SqliteWebhookDeliveries(db),
      deliveries,
      secret: (name) => secrets.env([name])[name],
      onError: (e, what) => log.error({ err: e }, what),
    });
    undo.push(() => webhooks.close());
    await webhooks.purge();
    const router = new Router();
    const noVersion = (name: string, version: number) =>
      noSuchVersionText({ registry, bundles, keepVersions: config.keepVersions }, name, version);
    const control = new FunctionControl({
      registry,
      bundles,
      dispatcher,
      router,
      deliveries,
      topics,
      kv,
      buckets,
      secrets,
      scheduler,
      sources,
      scheduleState,
      webhooks,
      budgets,
      keepVersions: config.keepVersions,
      audit: (message, fields) => log.info(fields, message),
    });
    await control.restore();
    const usage = new Usage({
      store: {
        usage: (q) => invocations.usage(q),
        // What the warm meter adds, metrics see too: one computation of warm GB-s.
        addWarm: async (at, warm) => {
          await invocations.addWarm(at, warm);
          metrics?.warmMetered(warm);
        },
      },
      active: async () =>
        (await registry.listFunctions()).flatMap((f) => {
          const spec = dispatcher.activeSpec(f.name);
          return spec ? [{ spec, since: Date.parse(f.updatedAt) }] : [];
        }),
      prices: {
        perMillionRequests: config.pricePerMillionRequests,
        perGbSecond: config.pricePerGbSecond,
        perWarmGbSecond: config.pricePerWarmGbSecond,
      },
      budgets,
      onError: (e) => log.error({ err: e }, 'metering warm instances'),
    });
    undo.push(() => usage.close());
    const retention = {
      retentionMs: config.retentionMs,
      failedRetentionMs: config.failedRetentionMs,
      maxBytes: config.maxRecordsBytes,
    };
    const pruner = new RecordPruner(invocations, retention, prunerLog(log, retention));
    undo.push(() => pruner.close());

    const gateway = new Gateway(
      {
        host: config.host,
        port: config.port,
        maxBodyBytes: config.maxBodyBytes,
        onError: (e) => log.error({ err: e }, 'request failed'),
      },
      {
        health: () => json(200, { status: 'ok' }),
        controlApi: controlApi({
          control,
          keys,
          dispatcher,
          deliveries,
          topics,
          kv,
          secrets,
          router,
          invocations,
          recorder,
          usage,
          maxResponseBytes: config.maxBodyBytes,
          inputs: inputs ?? { get: async () => undefined },
          keeping: { retentionMs: config.replayRetentionMs, maxEventBytes: config.replayMaxEventBytes },
          versionSpec: async (name, version) =>
            version === undefined
              ? dispatcher.activeSpec(name)
              : (await registry.getVersion(name, version))?.spec,
          noVersion,
        }),
        lambdaApi: lambdaApi({ registry, dispatcher, deliveries, keys, noVersion }),
        events: eventsDoor({ keys, topics }),
        metrics: metricsDoor({ keys, metrics }),
        ui: uiDoor({ keys, assets: await loadAssets() }),
        functions: functionDoor({ router, dispatcher, keys, webhooks: webhookDoor(webhooks) }),
        screenFunctions: screenRoutes(router),
      },
    );
    undo.push(
      () => scheduler.close(),
      () => deliveries.close(),
    );
    const url = await gateway.listen().catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        throw new GustError(
          'UNAVAILABLE',
          `port ${config.port} is in use: stop what uses it, or pass --port`,
        );
      }
      throw e;
    });
    undo.push(async () => {
      const stopping = gateway.close();
      gateway.closeAll();
      await stopping;
    });
    const s3 = new S3Server(
      { host: config.host, port: config.s3Port },
      { buckets, keys, onError: (e) => log.error({ err: e }, 'S3 request failed') },
    );
    undo.push(() => s3.close());
    const s3Url = await s3.listen().catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        throw new GustError(
          'UNAVAILABLE',
          `port ${config.s3Port} (S3 API) is in use: stop what uses it, or pass --s3-port`,
        );
      }
      throw e;
    });
    log.info({ url, s3Url, dataDir }, 'Gust is listening');

    // Listening: from here a failure (a bad manifest in DIR) closes it all as SIGTERM would.
    undo.length = 0;
    let deployed: DeployAnswer | undefined;
    if (config.deployDir !== undefined) {
      deployed = await deployFolder(control, config.deployDir, options.onBundled).catch(
        async (e: unknown) => {
          await close();
          throw e;
        },
      );
    }

    async function close(): Promise<void> {
      scheduler.close();
      const sourcesClosed = sources.close();
      pruner.close();
      usage.close();
      await usage.meterWarm().catch((e: unknown) => log.error({ err: e }, 'metering warm instances'));
      webhooks.close();
      clearInterval(purgeKv);
      const stopped = gateway.close();
      const s3Stopped = s3.close();
      // Deliveries stop claiming at once; those in flight finish with the dispatcher's drain and are acked.
      const drained = Promise.all([deliveries.close(), dispatcher.close()]);
      await Promise.race([drained, delay(CLOSE_GRACE_MS)]);
      gateway.closeAll();
      s3.closeAll();
      await stopped;
      await s3Stopped;
      await sourcesClosed;
      queue.close();
      await factory.close();
      await recorder.flush();
      await inputs
        ?.close()
        .catch((e: unknown) => log.error({ err: e }, 'keeping the last inputs for replay'));
      // The last spans go out, unless the collector keeps us waiting over 5 s.
      await traces?.close().catch((e: unknown) => log.warn({ err: e }, 'exporting the last spans'));
      db.close();
      await releaseLock();
      log.info('Gust stopped');
    }

    return { url, s3Url, dataDir, adminKeyPath, deployed, close };
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
