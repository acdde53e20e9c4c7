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
 * killed, and with them the quorum. 3.6 has /livez (the process is not stuck: a serializable read,
 * no leader needed) and /readyz (it serves linearizable reads and is no learner); older releases get
 * /health with the same exclusions (serializable=true skips the leader check, exclude=NOSPACE the
 * alarm), except readiness from 3.5.19, whose /readyz knows learners as 3.6's does.
 *
 * Periods and thresholds (the kubelet takes whole seconds, at least 1):
 * - startup, every 1 s: a restarted member answers within a few hundred ms on its own data, and
 *   the kubelet probes a new container at once (refused: etcd is not listening yet) and then one
 *   period later, so the period is the time a healthy restart waits before its pod can be Ready.
 *   1 s, not 5 s, takes member SIGKILLed -> pod Ready from about 5.2 s to about 1.5 s. It fails
 *   fast while nothing listens (connection refused), so probing often costs nothing; 300 failures
 *   still give a member replaying a long log 5 minutes (longer when probes time out under load),
 *   the same budget as before.
 * - readiness, every 1 s, NotReady after 3 failures in a row (at least 3 s): Ready follows the
 *   member within a second either way, and one slow answer on a loaded machine or a single leader
 *   election (etcd's default election timeout 1 s, randomised up to 2 s, heartbeat 100 ms) rarely
 *   spans three probes. A NotReady pod is not restarted; it only leaves the Service endpoints and
 *   counts against the PodDisruptionBudget, which is right for a member that cannot serve a
 *   linearizable read for 3 s. A 2 s timeout keeps a stalled answer from holding the probe.
 * - liveness, every 10 s, restart after 8 failures (80 s or more): it restarts, so it stays slow.
 *   Its endpoints already ignore elections and NOSPACE; what remains (a hung process) is not
 *   urgent enough to risk killing a member that is only starved on a loaded 2-core machine, and a
 *   faster liveness would not make anything Ready sooner.
 */
/**
 * The first 3.5 release whose /readyz fails on a learner (etcd PR 19280, backported to 3.5.19).
 * A learner answers /health (a linearizable read goes through the leader), so with /health its pod
 * turned Ready before promotion and the client Service sent clients to it, whose requests it refuses
 * ("rpc not supported for learner"). With /readyz the learner's pod turns Ready once it is a voter.
 */
const learnerAwareReadyz = '3.5.19';

export function memberProbes(version: string): MemberProbes {
  const modern = compareVersions(version, '3.6.0') >= 0;
  const live = modern ? '/livez' : '/health?exclude=NOSPACE&serializable=true';
  const ready = compareVersions(version, learnerAwareReadyz) >= 0 ? '/readyz' : '/health?serializable=false';
  return {
    startupProbe: { ...get(live), periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 300 },
    livenessProbe: { ...get(live), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 8 },
    readinessProbe: { ...get(ready), periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
  };
}
