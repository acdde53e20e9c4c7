import { describe, expect, it } from 'vitest';
import { loadConfig, parseDurationFlag } from './config.js';

describe('config', () => {
  it('has controller-runtime defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ leaderElect: true, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000, namespaces: [], kubeconfig: undefined });
  });

  it('gives a learner 5 minutes to start and catch up unless --learner-timeout says otherwise', () => {
    expect(loadConfig([], {}).learnerTimeoutMs).toBe(300_000);
    expect(loadConfig(['--learner-timeout=20m'], {}).learnerTimeoutMs).toBe(1_200_000);
    expect(loadConfig([], { ETCD_OPERATOR_LEARNER_TIMEOUT: '30s' }).learnerTimeoutMs).toBe(30_000);
    expect(() => loadConfig(['--learner-timeout=0s'], {})).toThrow(/learner-timeout/);
  });

  it('takes flags over the environment, and the environment over defaults', () => {
    const env = { ETCD_OPERATOR_WORKERS: '7', ETCD_OPERATOR_NAMESPACES: 'a', KUBECONFIG: '/k', POD_NAMESPACE: 'ops', POD_NAME: 'op-1' };
    const c = loadConfig(['--namespaces=x, y', '--leader-elect=false', '--lease-duration=30s', '--renew-deadline', '20s'], env);
    expect(c).toMatchObject({ workers: 7, namespaces: ['x', 'y'], kubeconfig: '/k', leaderElect: false, leaderElectionNamespace: 'ops', leaseDurationMs: 30_000, renewDeadlineMs: 20_000 });
    expect(c.leaderElectionIdentity).toMatch(/^op-1_[0-9a-f]{8}$/);
  });

  it('refuses nonsense rather than guessing', () => {
    expect(() => loadConfig(['--workers=0'], {})).toThrow(/workers/);
    expect(() => loadConfig(['--leader-elect=yes'], {})).toThrow(/leader-elect/);
    expect(() => loadConfig(['--renew-deadline=20s'], {})).toThrow(/renew-deadline/);
    expect(() => loadConfig(['--bogus=1'], {})).toThrow();
    expect(() => parseDurationFlag('10')).toThrow();
    expect(parseDurationFlag('1.5s')).toBe(1500);
  });
});
