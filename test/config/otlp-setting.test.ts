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
