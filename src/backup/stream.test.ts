import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { Meter, SnapshotIntegrityError, SnapshotVerifier } from './stream.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** Splits `data` into chunks of the given sizes (the rest as one last chunk). */
function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(data.subarray(at, at + size));
    at += size;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}

async function run(chunks: Buffer[]): Promise<{ out: Buffer; verifier: SnapshotVerifier; meter: Meter }> {
  const verifier = new SnapshotVerifier();
  const meter = new Meter();
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) });
  await pipeline(Readable.from(chunks), verifier, meter, sink);
  return { out: Buffer.concat(parts), verifier, meter };
}

const db = randomBytes(100_000);
const stream = Buffer.concat([db, sha(db)]);

describe('SnapshotVerifier', () => {
  it.each([
    ['one chunk', [stream.length]],
    ['etcd-sized chunks, trailer alone last', [32 * 1024, 32 * 1024, 32 * 1024, db.length - 3 * 32 * 1024]],
    ['trailer split across chunks', [db.length + 10]],
    ['tiny chunks around the end', [db.length - 5, 3, 4, 5, 6]],
    ['empty chunks', [0, 1000, 0, db.length - 1000, 0]],
  ])('passes the database on and strips the trailer: %s', async (_name, sizes) => {
    const { out, verifier, meter } = await run(chunked(stream, sizes));
    expect(out.equals(db)).toBe(true);
    expect(verifier.result).toEqual({ sizeBytes: db.length, sha256: sha(db).toString('hex') });
    expect(meter.sizeBytes).toBe(db.length);
    expect(meter.sha256()).toBe(sha(db).toString('hex'));
  });

  it.each([
    ['a flipped bit in the data', (b: Buffer) => (b[500] = b[500]! ^ 1)],
    ['a flipped bit in the trailer', (b: Buffer) => (b[b.length - 1] = b[b.length - 1]! ^ 0x80)],
  ])('fails the stream on %s', async (_name, corrupt) => {
    const bad = Buffer.from(stream);
    corrupt(bad);
    await expect(run(chunked(bad, [32 * 1024]))).rejects.toBeInstanceOf(SnapshotIntegrityError);
  });

  it.each([
    ['a lost chunk', Buffer.concat([stream.subarray(0, 1000), stream.subarray(2000)])],
    ['a truncated stream (no trailer)', db],
    ['a stream shorter than a trailer', Buffer.from('short')],
    ['an empty stream', Buffer.alloc(0)],
  ])('fails the stream on %s', async (_name, data) => {
    await expect(run([data])).rejects.toBeInstanceOf(SnapshotIntegrityError);
  });

  it('an empty database with its trailer is valid', async () => {
    const { out, verifier } = await run([sha(Buffer.alloc(0))]);
    expect(out.length).toBe(0);
    expect(verifier.result?.sizeBytes).toBe(0);
  });
});
