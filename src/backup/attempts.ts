/**
 * The attempts this process runs, by backup. The one piece of the world a pass cannot read from
 * the API server: an upload in flight. A pass observes it (running, succeeded, failed) the way it
 * would observe a Job, and a finished attempt queues its backup so its outcome is recorded.
 */
import type { AttemptState, BackupResult } from './plan.js';
import { AttemptError } from './attempt.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import type { UploadProgress } from './stall.js';

interface Entry {
  uid: string;
  clusterKey: string;
  /** metadata.uid of the EtcdCluster object the attempt is of. */
  clusterUID: string;
  state: AttemptState;
  abort: AbortController;
  /** The outcome's Event was sent: a pass that runs before status catches up sends none again. */
  reported: boolean;
  /** Which attempt this is, and when it started: status may lag behind what this process did. */
  number: number;
  startedAtMs: number;
}

export type ObservedAttempt = AttemptState & { reported: boolean; number: number; startedAtMs: number; clusterUID: string };

export class Attempts {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  /** The attempt of this backup object (same UID: a recreated backup starts afresh). */
  get(backupKey: string, uid: string): ObservedAttempt | undefined {
    const entry = this.entries.get(backupKey);
    return entry?.uid === uid ? { ...entry.state, reported: entry.reported, number: entry.number, startedAtMs: entry.startedAtMs, clusterUID: entry.clusterUID } : undefined;
  }

  markReported(backupKey: string): void {
    const entry = this.entries.get(backupKey);
    if (entry) entry.reported = true;
  }

  /** Another backup of the same cluster with an attempt running, by key. */
  busyWith(clusterKey: string, exceptBackupKey: string): string | undefined {
    for (const [key, entry] of this.entries) {
      if (key !== exceptBackupKey && entry.clusterKey === clusterKey && entry.state.state === 'running') return key;
    }
    return undefined;
  }

  /** Runs `task`, replacing an earlier finished attempt of the same backup. */
  start(backupKey: string, uid: string, cluster: { key: string; uid: string }, number: number, task: (signal: AbortSignal, report: (progress: UploadProgress) => void) => Promise<BackupResult>, parent: AbortSignal, onDone: () => void): void {
    const abort = new AbortController();
    const entry: Entry = { uid, clusterKey: cluster.key, clusterUID: cluster.uid, state: { state: 'running' }, abort, reported: false, number, startedAtMs: this.now() };
    this.entries.set(backupKey, entry);
    // An outcome already decided (stop) is not overwritten by the aborted task's error.
    const settle = (state: AttemptState) => {
      if (entry.state.state === 'running') entry.state = state;
    };
    const report = (progress: UploadProgress) => {
      if (entry.state.state === 'running') entry.state = { state: 'running', progress };
    };
    task(AbortSignal.any([abort.signal, parent]), report)
      .then(
        (result) => settle({ state: 'succeeded', result, atMs: this.now() }),
        (err: unknown) => {
          const failure = err instanceof AttemptError ? err.failure : { reason: backupReasons.uploadFailed, message: err instanceof Error ? err.message : String(err), retryable: true };
          settle({ state: 'failed', failure, atMs: this.now() });
        },
      )
      .finally(onDone);
  }

  /**
   * Aborts a running attempt and records `failure` as its outcome at once: a pass that runs
   * before the aborted task settles (or before status caught up) sees the same final failure,
   * never a retryable interruption to try again.
   */
  stop(backupKey: string, failure: BackupFailure): void {
    const entry = this.entries.get(backupKey);
    if (entry?.state.state !== 'running') return;
    entry.state = { state: 'failed', failure, atMs: this.now() };
    entry.abort.abort(new Error(failure.message));
  }

  /** Stops and forgets the attempt of a backup that is gone. */
  cancel(backupKey: string): void {
    this.entries.get(backupKey)?.abort.abort(new Error('backup deleted'));
    this.entries.delete(backupKey);
  }

  abortAll(reason: string): void {
    for (const entry of this.entries.values()) entry.abort.abort(new Error(reason));
  }
}
