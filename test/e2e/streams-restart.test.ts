/**
 * A broker restarted during delivery: a Mosquitto of this test's own (its port, its persistence
 * folder), stopped while a slow function works through a backlog, then started again. Every message
 * is delivered, and the trigger shows failing while the broker is away.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, deployProject, type Gust, records, startGust, tempDir } from '../helpers/gust.js';
import { freePort, listening, MOSQUITTO, servicesFor } from '../helpers/services.js';

const run = await servicesFor('stream broker restart (test/e2e/streams-restart.test.ts)', [MOSQUITTO]);
const LONG = { timeout: 40_000, interval: 100 } as const;

describe.runIf(run)('a broker restarted during delivery', () => {
  let g: Gust;
  let broker: ChildProcess | undefined;
  let port: number;
  let conf: string;

  async function startBroker(): Promise<void> {
    broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    await vi.waitFor(async () => expect(await listening(port)).toBe(true), LONG);
  }

  async function stopBroker(): Promise<void> {
    const b = broker;
    if (!b || b.exitCode !== null) return;
    const exited = once(b, 'exit');
    b.kill('SIGTERM'); // mosquitto saves its sessions on the way out
    await exited;
  }

  beforeAll(async () => {
    port = await freePort();
    const dir = await tempDir('gust-mosquitto-');
    await chmod(dir, 0o777); // mosquitto started as root saves its sessions as user mosquitto
    conf = path.join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_inflight_messages 0\n`,
    );
    await startBroker();
    g = await startGust();
    await api(g, 'PUT', '/secrets/OWN_MQTT', { value: `mqtt://127.0.0.1:${port}` });
    await deployProject(g, {
      'gust.yaml': `
functions:
  slow:
    handler: f.mjs#slow
    triggers:
      - stream: { from: mqtt, connection: OWN_MQTT, subject: "r/#", batch: 1 }
`,
      'f.mjs': `export const slow = async (e) => { await new Promise((r) => setTimeout(r, 100)); console.log('GOT ' + e.data.payload); };`,
    });
    await vi.waitFor(async () => {
      const r = await api<{ sources: { state: string }[] }>(g, 'GET', '/functions/slow');
      expect(r.body.sources.map((s) => s.state)).toEqual(['running']);
    }, LONG);
  });

  afterAll(async () => {
    await g?.stop();
    await stopBroker();
  });

  it('delivers every message once the broker is back, showing failing meanwhile', async () => {
    const pub = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'restart-pub',
      reconnectPeriod: 0,
    });
    for (let i = 0; i < 30; i++) await pub.publishAsync(`r/${i}`, String(i), { qos: 1 });
    await pub.endAsync();
    // some ran, not all: the broker goes away in the middle of the backlog
    await vi.waitFor(async () => expect((await records(g, 'slow', 1000)).length).toBeGreaterThan(0), LONG);
    await stopBroker();
    await vi.waitFor(async () => {
      const r = await api<{ sources: { state: string; reason: string }[] }>(g, 'GET', '/functions/slow');
      expect(r.body.sources[0]!.state).not.toBe('running');
    }, LONG);
    await startBroker();
    const again = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'restart-pub2',
      reconnectPeriod: 0,
    });
    for (let i = 30; i < 35; i++) await again.publishAsync(`r/${i}`, String(i), { qos: 1 });
    await again.endAsync();
    await vi.waitFor(
      async () => {
        const ok = (await records(g, 'slow', 1000)).filter((r) => r.status === 'ok');
        const got = new Set(ok.flatMap((r) => [...r.logs.matchAll(/GOT (\d+)/g)].map((m) => Number(m[1]))));
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 35 }, (_, i) => i));
      },
      { timeout: 60_000, interval: 200 },
    );
  }, 120_000);
});
