/** examples/iot-temperature: MQTT readings aggregated per device per window into KV, alerts over the threshold. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, deploy, type Gust, ROOT, records, startGust } from '../helpers/gust.js';
import { MOSQUITTO, servicesFor } from '../helpers/services.js';

const run = await servicesFor('examples/iot-temperature (test/e2e/examples-iot.test.ts)', [MOSQUITTO]);
const LONG = { timeout: 40_000, interval: 100 } as const;

describe.runIf(run)('examples/iot-temperature', () => {
  let g: Gust;

  beforeAll(async () => {
    g = await startGust();
    await api(g, 'PUT', '/secrets/MQTT_URL', { value: 'mqtt://127.0.0.1:1883' });
    await deploy(g, path.join(ROOT, 'examples', 'iot-temperature'));
    await vi.waitFor(async () => {
      const r = await api<{ sources: { state: string }[] }>(g, 'GET', '/functions/aggregate');
      expect(r.body.sources.map((s) => s.state)).toEqual(['running']);
    }, LONG);
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('keeps each device window in KV and alerts only for the device over 30 °C', async () => {
    const cool = `cool-${randomBytes(3).toString('hex')}`;
    const hot = `hot-${randomBytes(3).toString('hex')}`;
    const mqtt = await connectAsync('mqtt://127.0.0.1:1883', { clientId: `${hot}-pub` });
    for (const c of [20, 22, 24])
      await mqtt.publishAsync(`sensors/${cool}/temperature`, JSON.stringify({ celsius: c }), { qos: 1 });
    for (const c of [29, 31.5])
      await mqtt.publishAsync(`sensors/${hot}/temperature`, JSON.stringify({ celsius: c }), { qos: 1 });
    await mqtt.endAsync();
    await vi.waitFor(async () => {
      const r = await api<{ value: string }>(g, 'GET', `/kv/readings/keys/device%2F${cool}`);
      expect(JSON.parse(r.body.value)).toMatchObject({ count: 3, min: 20, max: 24, mean: 22 });
      const alerts = (await records(g, 'notify')).map((x) => x.logs).join('\n');
      expect(alerts).toContain(`ALERT ${hot}: 31.5 °C is over 30 °C`);
      expect(alerts).not.toContain(cool);
    }, LONG);
  });
});
