/**
 * Crash points for fault-injection tests, in the manner of etcd's gofail. When the environment
 * variable ETCD_OPERATOR_CRASHPOINTS names a point, the process kills itself there with SIGKILL,
 * exactly as a node failure would stop it between two steps that must both happen. A point
 * written `name:pause=15s` instead stalls the whole process there (timers and all, as a stopped
 * or swapped-out process stalls), then lets it go on. Unset in production, where each point
 * costs one Map lookup.
 */
import { parseDuration } from '../api/duration.js';

type Action = { kind: 'kill' } | { kind: 'pause'; ms: number };

function parse(spec: string): Map<string, Action> {
  const points = new Map<string, Action>();
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, action] = entry.split(':', 2) as [string, string | undefined];
    const pause = action?.startsWith('pause=') ? parseDuration(action.slice('pause='.length)) : undefined;
    points.set(name, pause === undefined ? { kind: 'kill' } : { kind: 'pause', ms: pause });
  }
  return points;
}

const armed = parse(process.env.ETCD_OPERATOR_CRASHPOINTS ?? '');

export type Crashpoint =
  | 'after-member-add'
  /** A scale-up grew the StatefulSet ahead of its first add: new pods, no member added yet. */
  | 'after-start-ahead'
  | 'after-member-promote'
  | 'after-member-remove'
  | 'after-leader-move'
  /** The StatefulSet's template was written (new version or flags), no member restarted yet. */
  | 'after-template-apply'
  /** A downgrade was enabled in etcd, before its event and before any member restarted. */
  | 'after-downgrade-enable'
  /** A member's pod was deleted to run the new template, before the event and the next look. */
  | 'after-member-restart'
  /** spec.restore: the member claims exist, no restore pod yet. */
  | 'after-restore-claims'
  /** spec.restore: the restore pods exist. */
  | 'after-restore-pods'
  /** An EtcdBackup's upload accepted its first part (the whole object when it fits in one), not yet recorded. */
  | 'backup-upload-progress'
  /** Consented recovery (src/recovery): after each of its steps, named `recovery-<step>`. */
  | `recovery-${string}`
  /**
   * A CA rotation step (src/pki/rotation.ts), named `after-ca-<step>`: after the step's first
   * Secret write, when a step writing several has written one (or after the next-CA Secret's
   * delete, for a step that writes none).
   */
  | `after-ca-${string}`;

export function crashpoint(name: Crashpoint): void {
  const action = armed.get(name);
  if (!action) return;
  if (action.kind === 'kill') process.kill(process.pid, 'SIGKILL');
  // Blocks the event loop: no lease renewal, no timer runs until it ends.
  else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, action.ms);
}
