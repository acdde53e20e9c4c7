import type { V1Probe } from '@kubernetes/client-node';
import { compareVersions } from '../api/version.js';
import { ports } from './names.js';

export interface MemberProbes {
  startupProbe: V1Probe;
  livenessProbe: V1Probe;
  readinessProbe: V1Probe;
}

const get = (path: string) => ({ httpGet: { path, port: ports.metrics, scheme: 'HTTP' } });

/**
 * Probes on the metrics port. Liveness must not fail for conditions a restart cannot fix: a
 * leader election in progress or a full disk (NOSPACE alarm) would otherwise get healthy members
 * killed, and with them the quorum. 3.6 has /livez (the process is not stuck) and /readyz (it
 * serves linearizable reads); older releases get /health with the same exclusions.
 */
export function memberProbes(version: string): MemberProbes {
  const modern = compareVersions(version, '3.6.0') >= 0;
  const live = modern ? '/livez' : '/health?exclude=NOSPACE&serializable=true';
  const ready = modern ? '/readyz' : '/health?serializable=false';
  return {
    // A member replaying a large log may need minutes before it answers; allow 5.
    startupProbe: { ...get(live), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
    livenessProbe: { ...get(live), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 8 },
    readinessProbe: { ...get(ready), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
  };
}
