/**
 * Which member a data directory belongs to, read from its write-ahead log as etcd wrote it: the
 * first WAL file opens with a CRC record, then a metadata record holding the member's and the
 * cluster's IDs. The guard needs only those two numbers, so it reads the first records of the
 * first file and nothing else (no etcd packages: the guard runs on every member's start).
 *
 * Framing (etcd's wal encoder): each record is preceded by 8 bytes, little-endian; the low 56
 * bits are the record's length, and when the top bit is set the next three bits give the padding
 * that follows the record to an 8-byte boundary. A record is a protobuf message: type (field 1,
 * varint; 1 is metadata), crc (2, varint), data (3, bytes). Metadata is another: the member ID
 * (field 1, varint) and the cluster ID (2, varint), both 64-bit.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface WalIdentity {
  /** Decimal, as the member lists carry IDs (64-bit: never a JS number). */
  memberId: string;
  clusterId: string;
}

const metadataType = 1n;

/** A varint at `at`, with where it ends; undefined when the bytes run out or it is too long. */
function varint(buf: Uint8Array, at: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10 && at + i < buf.length; i++) {
    const byte = buf[at + i]!;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** The varint and length-delimited fields of one protobuf message, by field number (last wins). */
function fields(buf: Uint8Array): Map<number, bigint | Uint8Array> | undefined {
  const out = new Map<number, bigint | Uint8Array>();
  let at = 0;
  while (at < buf.length) {
    const key = varint(buf, at);
    if (!key) return undefined;
    const field = Number(key.value >> 3n);
    const wire = Number(key.value & 7n);
    if (wire === 0) {
      const v = varint(buf, key.next);
      if (!v) return undefined;
      out.set(field, v.value);
      at = v.next;
    } else if (wire === 2) {
      const len = varint(buf, key.next);
      if (!len || key.next + Number(len.value) > buf.length) return undefined;
      const end = len.next + Number(len.value);
      out.set(field, buf.subarray(len.next, end));
      at = end;
    } else {
      return undefined;
    }
  }
  return out;
}

/** The member and cluster IDs from the opening bytes of a WAL file; undefined when not found. */
export function parseWalIdentity(buf: Uint8Array): WalIdentity | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  // The metadata record is the second one; a few more are allowed for.
  for (let records = 0; records < 4 && at + 8 <= buf.length; records++) {
    const frame = view.getBigUint64(at, true);
    const length = Number(frame & 0x00ff_ffff_ffff_ffffn);
    const padding = frame >> 63n === 1n ? Number((frame >> 56n) & 7n) : 0;
    const start = at + 8;
    if (start + length > buf.length) return undefined;
    const record = fields(buf.subarray(start, start + length));
    if (!record) return undefined;
    const data = record.get(3);
    if (record.get(1) === metadataType && data instanceof Uint8Array) {
      const meta = fields(data);
      const member = meta?.get(1);
      const cluster = meta?.get(2);
      if (typeof member !== 'bigint' || member === 0n) return undefined;
      return { memberId: member.toString(), clusterId: typeof cluster === 'bigint' ? cluster.toString() : '0' };
    }
    at = start + length + padding;
  }
  return undefined;
}

/** Whose log the data directory holds, from its first WAL file; undefined when unreadable. */
export function readWalIdentity(dataDir: string): WalIdentity | undefined {
  try {
    const dir = join(dataDir, 'member', 'wal');
    const first = readdirSync(dir).filter((f) => f.endsWith('.wal')).sort()[0];
    if (!first) return undefined;
    const fd = openSync(join(dir, first), 'r');
    try {
      const buf = new Uint8Array(4096);
      const n = readSync(fd, buf, 0, buf.length, 0);
      return parseWalIdentity(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
