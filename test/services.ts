/**
 * The servers some suites need (PostgreSQL, brokers) on 127.0.0.1. A suite asks once at its top;
 * without the server it is skipped, said on the console with why, except in CI (`CI=true`), where
 * the suite must run: a missing server fails it.
 */
import pg from 'pg';

/** Whether `check` reached the server; in CI a failure throws instead. */
export async function serviceUp(
  suite: string,
  service: string,
  check: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (e) {
    const why = `${service} is not reachable (${(e as Error).message})`;
    if (process.env.CI === 'true')
      throw new Error(`${suite}: ${why}, and CI=true requires this suite to run`);
    console.warn(`skipped ${suite}: ${why}`);
    return false;
  }
}

/** The tests' database: trust auth, database `test`. */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function postgresUp(suite: string): Promise<boolean> {
  return serviceUp(suite, `PostgreSQL at ${POSTGRES_URL}`, async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
    } finally {
      await client.end().catch(() => {});
    }
  });
}
