/**
 * The stall deadline of an upload. A store that accepts connections and then answers nothing (a
 * stopped process, a hung disk) would otherwise hold an attempt Running with nothing said until
 * TCP gives up (the S3 client's requestTimeout only logs a warning; measured: still Running 300 s
 * after the store stopped). Progress is any byte moving: from the member
 * into the pipeline, or acknowledged by the store (a part stored). Pure: the watchdog in
 * attempt.ts samples the counters and asks `watchStall` what they mean.
 */
import { type BackupFailure, backupReasons } from './reasons.js';

/** How far an attempt got: what status shows while it runs. */
export interface UploadProgress {
  /** Bytes the store acknowledged (stored parts). */
  storedBytes: number;
  /** When a byte last moved, from the member or into the store. */
  lastProgressAtMs: number;
}

/** No progress for this long ends the attempt (retryable). */
export const stallLimitMs = 30_000;
/** How often the watchdog samples the counters. */
export const stallCheckEveryMs = 1_000;

/** What the watchdog last saw. */
export interface StallWatch {
  /** Bytes from the member into the pipeline plus bytes the store acknowledged: grows with any progress. */
  moved: number;
  /** Bytes the store acknowledged (stored parts, or the whole object). */
  stored: number;
  lastProgressAtMs: number;
}

/** Counters sampled now. `waitingOn`: which side holds the pipeline up (the other has room). */
export interface StallSample {
  fromMember: number;
  stored: number;
  nowMs: number;
  waitingOn: 'store' | 'member';
}

export type StallVerdict = { stalled: false; watch: StallWatch } | { stalled: true; watch: StallWatch; failure: BackupFailure };

export function watchStall(watch: StallWatch, sample: StallSample, limitMs: number, endpoint: string, memberName: string): StallVerdict {
  const moved = sample.fromMember + sample.stored;
  if (moved !== watch.moved) return { stalled: false, watch: { moved, stored: sample.stored, lastProgressAtMs: sample.nowMs } };
  const idleMs = sample.nowMs - watch.lastProgressAtMs;
  if (idleMs < limitMs) return { stalled: false, watch };
  return { stalled: true, watch, failure: stallFailure(sample, idleMs, endpoint, memberName) };
}

function stallFailure(sample: StallSample, idleMs: number, endpoint: string, memberName: string): BackupFailure {
  const seconds = Math.round(idleMs / 1000);
  const sofar = `${sample.stored} bytes stored, ${sample.fromMember} read from the member`;
  if (sample.waitingOn === 'member') {
    return { reason: backupReasons.snapshotFailed, message: `${memberName} sent nothing for ${seconds} s (${sofar}); the upload was aborted`, retryable: true };
  }
  return {
    reason: backupReasons.storeStalled,
    message: `${endpoint} accepted no bytes for ${seconds} s: the upload stalled (${sofar}) and was aborted; its multipart upload is aborted too, now if the store answers, else by the next attempt`,
    retryable: true,
  };
}
