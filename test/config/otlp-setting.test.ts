/** Where spans go: GUST_OTLP_URL, an http(s) URL; unset or empty, no spans are exported. */
import { describe, expect, it } from 'vitest';
import { loadPlatformConfig } from '../../src/config/config.js';

const load = (env: Record<string, string>) => loadPlatformConfig({}, env, '/tmp');

describe('the OTLP setting', () => {
  it('is unset by default and when empty, and takes an http or https URL', () => {
    expect(load({}).otlpUrl).toBeUndefined();
    expect(load({ GUST_OTLP_URL: '' }).otlpUrl).toBeUndefined();
    expect(load({ GUST_OTLP_URL: 'http://127.0.0.1:4318' }).otlpUrl).toBe('http://127.0.0.1:4318');
    expect(load({ GUST_OTLP_URL: 'https://otel.example.com/v1/traces' }).otlpUrl).toBe(
      'https://otel.example.com/v1/traces',
    );
  });

  it('refuses what is not an http(s) URL, naming the variable and what it takes', () => {
    for (const bad of ['127.0.0.1:4318', 'grpc://127.0.0.1:4317', 'http://', 'http://a b']) {
      expect(() => load({ GUST_OTLP_URL: bad }), bad).toThrow(
        `GUST_OTLP_URL=${JSON.stringify(bad)}: an http:// or https:// URL of an OTLP/HTTP collector`,
      );
    }
  });
});

describe('the share of traces exported (GUST_TRACES_SAMPLE)', () => {
  it('is all by default, takes a share from 0 to 1, and refuses anything else', () => {
    expect(load({}).tracesSample).toBe(1);
    expect(load({ GUST_TRACES_SAMPLE: '0.25' }).tracesSample).toBe(0.25);
    expect(load({ GUST_TRACES_SAMPLE: '0' }).tracesSample).toBe(0);
    for (const bad of ['1.5', '-0.1', '10%', 'half', '']) {
      expect(() => load({ GUST_TRACES_SAMPLE: bad }), bad).toThrow(
        `GUST_TRACES_SAMPLE=${JSON.stringify(bad)}: a share from 0 to 1 as a plain decimal`,
      );
    }
  });
});

describe('sampled', () => {
  it('decides by the trace id alone, for about the share asked', async () => {
    const { sampled } = await import('../../src/observe/traces.js');
    const { newTrace } = await import('../../src/observe/trace-context.js');
    const ids = Array.from({ length: 20_000 }, () => newTrace().traceId);
    for (const share of [0, 0.1, 0.5, 1]) {
      const taken = ids.filter((id) => sampled(id, share)).length / ids.length;
      expect(Math.abs(taken - share), String(share)).toBeLessThan(0.02);
    }
    // by the id alone: a trace taken at a share is taken at every larger one
    expect(ids.filter((id) => sampled(id, 0.3) && !sampled(id, 0.5))).toEqual([]);
  });
});
