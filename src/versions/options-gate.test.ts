import { describe, expect, it } from 'vitest';
import { sampleCluster } from '../resources/fixtures.js';
import { optionsRefusal } from './options-gate.js';

describe('optionsRefusal', () => {
  it('refuses a 3.6 flag on 3.5, naming the flag and what to do', () => {
    expect(optionsRefusal(sampleCluster({ version: '3.5.35', options: { 'max-learners': '2' } }))).toEqual({
      reason: 'OptionUnknownToVersion',
      message:
        'spec.options cannot run on etcd 3.5.35: max-learners exists only from etcd 3.6.0. Remove max-learners from spec.options or choose a version that knows it; until then no member is restarted or added',
    });
  });

  it('refuses a flag 3.6 removed when upgrading to 3.6', () => {
    expect(optionsRefusal(sampleCluster({ version: '3.6.16', options: { proxy: 'off', 'proxy-dial-timeout': '1s' } }))?.message).toContain(
      'proxy was removed in etcd 3.6.0; proxy-dial-timeout was removed in etcd 3.6.0. Remove proxy, proxy-dial-timeout from spec.options',
    );
  });

  it('lets a renamed flag through under either name', () => {
    expect(optionsRefusal(sampleCluster({ version: '3.5.35', options: { 'corrupt-check-time': '5m' } }))).toBeUndefined();
    expect(optionsRefusal(sampleCluster({ version: '3.6.16', options: { 'experimental-corrupt-check-time': '5m' } }))).toBeUndefined();
  });
});
