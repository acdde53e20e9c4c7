/**
 * Crash points for fault-injection tests, in the manner of etcd's gofail: when the environment
 * variable ETCD_OPERATOR_CRASHPOINTS names a point, the process kills itself there with SIGKILL,
 * exactly as a node failure would stop it between two steps that must both happen. Unset in
 * production, where each point costs one Set lookup.
 */
const armed = new Set((process.env.ETCD_OPERATOR_CRASHPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export type Crashpoint = 'after-member-add' | 'after-member-promote' | 'after-member-remove' | 'after-leader-move';

export function crashpoint(name: Crashpoint): void {
  if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
