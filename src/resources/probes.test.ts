import type { V1Probe } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { memberProbes } from './probes.js';

// etcd's defaults: heartbeat 100 ms, election timeout 1 s (randomised up to 2 s per campaign).
const electionTimeoutS = 1;

/** The shortest time a probe can fail before it acts: failureThreshold periods. */
const tolerance = (p: V1Probe) => (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);

describe.each(['3.5.0', '3.5.35', '3.6.16'])('memberProbes(%s)', (version) => {
  const probes = memberProbes(version);
  const all = Object.entries(probes) as [string, V1Probe][];

  it.each(all)('%s uses whole seconds of at least 1, as the kubelet requires', (_kind, p) => {
    for (const v of [p.periodSeconds, p.timeoutSeconds]) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(1);
    }
    expect(Number.isInteger(p.failureThreshold)).toBe(true);
  });

  it('probes a restarted member every second, so a pod is Ready within about 1.5 s', () => {
    expect(probes.startupProbe.periodSeconds).toBe(1);
    expect(probes.readinessProbe.periodSeconds).toBe(1);
  });

  it('still gives a member replaying a long log 5 minutes to start', () => {
    expect(tolerance(probes.startupProbe)).toBeGreaterThanOrEqual(300);
  });

  it('does not mark a pod NotReady for a single leader election or one slow answer', () => {
    expect(tolerance(probes.readinessProbe)).toBeGreaterThanOrEqual(3 * electionTimeoutS);
    expect(probes.readinessProbe.failureThreshold).toBeGreaterThanOrEqual(3);
  });

  it('restarts a member only after a minute of failures, far beyond any election', () => {
    expect(tolerance(probes.livenessProbe)).toBeGreaterThanOrEqual(60);
  });

  it('liveness and startup ignore leader elections and NOSPACE', () => {
    const path = probes.livenessProbe.httpGet?.path;
    expect(probes.startupProbe.httpGet?.path).toBe(path);
    if (version.startsWith('3.6')) expect(path).toBe('/livez');
    else expect(path).toBe('/health?exclude=NOSPACE&serializable=true');
  });

  it('keeps a learner NotReady where etcd can tell (/readyz fails on learners from 3.5.19)', () => {
    const expected = version === '3.5.0' ? '/health?serializable=false' : '/readyz';
    expect(probes.readinessProbe.httpGet?.path).toBe(expected);
  });
});
