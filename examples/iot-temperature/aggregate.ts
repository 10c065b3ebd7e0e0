import type { Context } from 'gust';

/** A `gust.stream.message` event (batch > 1: the handler gets an array of them). */
interface Reading {
  subject: string; // sensors/<device>/temperature
  data: { payload: { celsius?: unknown } };
}

interface Window {
  count: number;
  min: number;
  max: number;
  mean: number;
  at: string;
}

/** One window of readings: per device, its count, min, max and mean go to KV; over the threshold, an alert. */
export async function handler(readings: Reading[], ctx: Context): Promise<{ devices: number }> {
  const threshold = Number(ctx.env.THRESHOLD_CELSIUS ?? 30);
  const byDevice = new Map<string, number[]>();
  for (const r of readings) {
    const device = r.subject.split('/')[1] ?? 'unknown';
    const celsius = Number(r.data.payload?.celsius);
    if (!Number.isFinite(celsius)) {
      console.log(`skipping a reading of ${device} without a number in celsius`);
      continue;
    }
    byDevice.set(device, [...(byDevice.get(device) ?? []), celsius]);
  }
  const kv = ctx.kv('readings');
  for (const [device, values] of byDevice) {
    const window: Window = {
      count: values.length,
      min: Math.min(...values),
      max: Math.max(...values),
      mean: values.reduce((a, b) => a + b, 0) / values.length,
      at: new Date().toISOString(),
    };
    await kv.put(`device/${device}`, JSON.stringify(window));
    if (window.max > threshold) {
      await ctx.publish('temperature-alerts', { device, celsius: window.max, threshold, at: window.at });
    }
  }
  return { devices: byDevice.size };
}
