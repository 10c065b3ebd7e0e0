/**
 * config: the environment and the CLI flags become one validated Config, here and nowhere else.
 * Nothing outside src/config/ reads process.env (the sandbox has its own, given to it by the host).
 */
import path from 'node:path';
import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

const port = z.coerce.number().int().min(0).max(65535);

const PlatformSchema = z.object({
  host: z.string().min(1),
  port,
  s3Port: port,
  dataDir: z.string().min(1),
  deployDir: z.string().optional(),
  cluster: z.boolean(),
  clusterName: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'a lower-case name of letters, digits and _'),
  postgresUrl: z.string().optional(),
  natsUrl: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** Idle pre-started processes kept per memory size. */
  stemCells: z.coerce.number().int().min(0).max(16),
  /** When Gust runs as root, each instance runs as its own uid/gid from this one on (a range of 100000). */
  sandboxUid: z.coerce.number().int().min(1000).max(4_000_000_000),
  maxBodyBytes: z.coerce.number().int().min(1),
});

export type PlatformConfig = z.infer<typeof PlatformSchema>;

export interface UpFlags {
  readonly dir?: string | undefined;
  readonly port?: string | number | undefined;
  readonly s3Port?: string | number | undefined;
  readonly data?: string | undefined;
  readonly cluster?: boolean | undefined;
}

/** Flags win over the environment, which wins over the defaults. */
export function loadPlatformConfig(flags: UpFlags, env: Env, cwd: string): PlatformConfig {
  const parsed = PlatformSchema.safeParse({
    host: env.GUST_HOST ?? '127.0.0.1',
    port: flags.port ?? env.GUST_PORT ?? 8080,
    s3Port: flags.s3Port ?? env.GUST_S3_PORT ?? 9000,
    dataDir: path.resolve(cwd, flags.data ?? env.GUST_DATA_DIR ?? '.gust'),
    deployDir: flags.dir === undefined ? undefined : path.resolve(cwd, flags.dir),
    cluster: flags.cluster ?? false,
    clusterName: env.GUST_CLUSTER_NAME ?? 'gust',
    postgresUrl: env.GUST_POSTGRES_URL,
    natsUrl: env.GUST_NATS_URL,
    logLevel: env.GUST_LOG_LEVEL ?? 'info',
    stemCells: env.GUST_STEM_CELLS ?? 2,
    sandboxUid: env.GUST_SANDBOX_UID ?? 200_000,
    maxBodyBytes: 6 * 1024 * 1024,
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(`${first?.path.join('.') ?? 'config'}: ${first?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export interface ClientConfig {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly dataDir: string;
}

/** What the CLI needs to reach a running platform. The key: GUST_API_KEY, else <data>/admin.key. */
export function loadClientConfig(env: Env, cwd: string): ClientConfig {
  const port = env.GUST_PORT ?? '8080';
  return {
    url: (env.GUST_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, ''),
    apiKey: env.GUST_API_KEY,
    dataDir: path.resolve(cwd, env.GUST_DATA_DIR ?? '.gust'),
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The process's environment: read here, and handed to whoever needs it, nowhere else. */
export function processEnv(): Env {
  return process.env;
}
