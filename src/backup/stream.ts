/**
 * Byte streams of a backup. etcd's Maintenance.Snapshot sends the database and then, as the last
 * 32 bytes of the stream, the SHA-256 of the database (etcdutl checks the same trailer on restore).
 * The verifier passes the database on, holding back only the 32 bytes that may be the trailer, and
 * fails the stream at its end when the digest does not match, so a corrupt snapshot never
 * completes an upload. Nothing here buffers more than one chunk.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const sha256Length = 32;

/** Thrown (as the stream's error) when the snapshot does not match the digest etcd appended. */
export class SnapshotIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotIntegrityError';
  }
}

/** What the verifier saw once the stream ended cleanly. */
export interface VerifiedSnapshot {
  /** Bytes of the database, the trailer excluded. */
  sizeBytes: number;
  /** Hex SHA-256 of the database, equal to the trailer etcd sent. */
  sha256: string;
}

/** Strips and checks etcd's SHA-256 trailer; `result` is set once the stream has ended. */
export class SnapshotVerifier extends Transform {
  result: VerifiedSnapshot | undefined;
  private readonly hash = createHash('sha256');
  private tail = Buffer.alloc(0);
  private size = 0;

  /** Bytes received from the member so far, the held-back tail included. */
  get received(): number {
    return this.size + this.tail.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const joined = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const cut = Math.max(0, joined.length - sha256Length);
    // Copy the held-back bytes: they outlive the chunk they came from.
    this.tail = Buffer.from(joined.subarray(cut));
    if (cut === 0) return callback();
    const body = joined.subarray(0, cut);
    this.hash.update(body);
    this.size += body.length;
    callback(null, body);
  }

  override _flush(callback: TransformCallback): void {
    if (this.tail.length < sha256Length) {
      return callback(new SnapshotIntegrityError(`snapshot stream ended after ${this.size + this.tail.length} bytes, too short to carry etcd's SHA-256 trailer`));
    }
    const digest = this.hash.digest();
    if (!digest.equals(this.tail)) {
      return callback(new SnapshotIntegrityError(`snapshot of ${this.size} bytes has SHA-256 ${digest.toString('hex')} but etcd sent ${this.tail.toString('hex')}: the stream was corrupted`));
    }
    this.result = { sizeBytes: this.size, sha256: digest.toString('hex') };
    callback();
  }
}

/** Counts and hashes the bytes that pass, unchanged: what the uploaded object will hold. */
export class Meter extends Transform {
  sizeBytes = 0;
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.sizeBytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    callback();
  }

  /** Hex SHA-256 of everything that passed; only after the stream ended. */
  sha256(): string {
    if (this.digest === undefined) throw new Error('the stream has not ended');
    return this.digest;
  }
}
