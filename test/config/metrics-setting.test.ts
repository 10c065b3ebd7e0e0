/** The metrics switch: on unless GUST_METRICS=off or --no-metrics; anything else is refused by name. */
import { describe, expect, it } from 'vitest';
import { loadPlatformConfig } from '../../src/config/config.js';

const load = (env: Record<string, string>, metrics?: boolean) =>
  loadPlatformConfig(metrics === undefined ? {} : { metrics }, env, '/tmp');

describe('the metrics setting', () => {
  it('is on by default, off with GUST_METRICS=off, and --no-metrics wins over the environment', () => {
    expect(load({}).metrics).toBe(true);
    expect(load({ GUST_METRICS: 'on' }).metrics).toBe(true);
    expect(load({ GUST_METRICS: 'off' }).metrics).toBe(false);
    expect(load({ GUST_METRICS: 'on' }, false).metrics).toBe(false);
  });

  it('refuses another value, naming the variable and what it takes', () => {
    expect(() => load({ GUST_METRICS: 'false' })).toThrow('GUST_METRICS="false": on or off');
  });
});
