import { describe, expect, it } from 'vitest';
import { tlsPolicyOf } from './tls-policy.js';

describe('tlsPolicyOf', () => {
  it('reads the CA validity beside the leaf durations', () => {
    expect(tlsPolicyOf({ enabled: true, certificateValidity: '2m', renewBefore: '90s', caValidity: '3m' })).toEqual({ validityMs: 120_000, renewBeforeMs: 90_000, caValidityMs: 180_000 });
  });

  it('leaves the default CA validity to the policy when the field is absent (an object read before it existed)', () => {
    const tls = { enabled: true, certificateValidity: '8760h', renewBefore: '720h' } as Parameters<typeof tlsPolicyOf>[0];
    expect(tlsPolicyOf(tls)).toEqual({ validityMs: 8760 * 3600_000, renewBeforeMs: 720 * 3600_000 });
  });

  it('gives no policy when a duration does not parse', () => {
    expect(tlsPolicyOf({ enabled: true, certificateValidity: '2m', renewBefore: '90s', caValidity: 'soon' })).toBeUndefined();
  });
});
