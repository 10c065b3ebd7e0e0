/**
 * Suites that need a server of the machine (MQTT, NATS, RabbitMQ, PostgreSQL). With CI=true they
 * always run, and fail if the server is missing; elsewhere a suite whose server is not listening is
 * skipped, and says which and why.
 */
import net from 'node:net';

export interface Service {
  readonly name: string;
  readonly port: number;
}

export const MOSQUITTO: Service = { name: 'Mosquitto (MQTT)', port: 1883 };
export const NATS: Service = { name: 'NATS with JetStream', port: 4222 };
export const RABBITMQ: Service = { name: 'RabbitMQ (AMQP)', port: 5672 };
export const POSTGRES: Service = { name: 'PostgreSQL', port: 5432 };
/** The tests' database on POSTGRES: trust auth, database `test`. */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Something listens on 127.0.0.1:port. */
export function listening(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether `suite` runs: always in CI, else only when every service listens (a skip is said on stderr). */
export async function servicesFor(suite: string, services: readonly Service[]): Promise<boolean> {
  if (process.env.CI === 'true') return true;
  const missing = [];
  for (const s of services) if (!(await listening(s.port))) missing.push(`${s.name} on 127.0.0.1:${s.port}`);
  if (missing.length === 0) return true;
  console.warn(
    `SKIPPED ${suite}: nothing listens for ${missing.join(', ')} (start it; with CI=true this suite fails instead)`,
  );
  return false;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
