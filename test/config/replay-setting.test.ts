/** What is kept for replay: GUST_REPLAY_* and the flags of `gust up`, with their defaults and errors. */
import { describe, expect, it } from 'vitest';
import { loadPlatformConfig } from '../../src/config/config.js';

const load = (env: Record<string, string>, flags = {}) => loadPlatformConfig(flags, env, '/tmp');

describe('the replay settings', () => {
  it('keep events 24 h, 256 MB in all and 256 KB each by default; 0 or off keeps none', () => {
    expect(load({})).toMatchObject({
      replayRetentionMs: 86_400_000,
      replayMaxBytes: 256 * 1024 ** 2,
      replayMaxEventBytes: 256 * 1024,
    });
    expect(load({ GUST_REPLAY_RETENTION: '0' }).replayRetentionMs).toBe(0);
    expect(load({ GUST_REPLAY_RETENTION: 'off' }).replayRetentionMs).toBe(0);
    expect(load({ GUST_REPLAY_RETENTION: '2h' }, { replayRetention: '30m' }).replayRetentionMs).toBe(
      1_800_000,
    );
    expect(load({ GUST_REPLAY_MAX_SIZE: '1GB', GUST_REPLAY_MAX_EVENT_SIZE: '1MB' })).toMatchObject({
      replayMaxBytes: 1024 ** 3,
      replayMaxEventBytes: 1024 ** 2,
    });
  });

  it('refuses values that make no sense, naming the setting and what it takes', () => {
    expect(() => load({ GUST_REPLAY_RETENTION: '10s' })).toThrow(
      'GUST_REPLAY_RETENTION="10s": a duration from 1m to 3650d, like 24h, or 0 (or off) to keep no events for replay',
    );
    expect(() => load({}, { replayMaxSize: '10KB' })).toThrow(
      '--replay-max-size "10KB": a size of at least 1MB, like 256MB or 1GB',
    );
    expect(() => load({ GUST_REPLAY_MAX_EVENT_SIZE: '7MB' })).toThrow(
      'GUST_REPLAY_MAX_EVENT_SIZE="7MB": a size from 1KB to 6MB, like 256KB',
    );
  });
});
