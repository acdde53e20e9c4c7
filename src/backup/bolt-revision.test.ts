import { describe, expect, it } from 'vitest';
import { BoltRevisionScanner } from './bolt-revision.js';

// Small bbolt files written by hand in the layout bbolt uses (little-endian page headers and
// elements, keys found at `pos` from their element). Real etcd files are read in
// test/integration/backup-snapshot.test.ts; these cover what etcd rarely produces on demand.
const pageSize = 512;

function rev(main: number, tombstone = false): Buffer {
  const b = Buffer.alloc(tombstone ? 18 : 17);
  b.writeBigUInt64BE(BigInt(main), 0);
  b[8] = 0x5f;
  b.writeBigUInt64BE(0n, 9);
  if (tombstone) b[17] = 0x74;
  return b;
}

type Leaf = { key: Buffer; value: Buffer; bucket?: boolean }[];

function leaf(id: number, elements: Leaf, overflow = 0): Buffer {
  const head = Buffer.alloc(16 + elements.length * 16);
  head.writeBigUInt64LE(BigInt(id), 0);
  head.writeUInt16LE(0x02, 8);
  head.writeUInt16LE(elements.length, 10);
  head.writeUInt32LE(overflow, 12);
  const data: Buffer[] = [];
  let at = head.length;
  elements.forEach((e, i) => {
    const el = 16 + i * 16;
    head.writeUInt32LE(e.bucket ? 1 : 0, el);
    head.writeUInt32LE(at - el, el + 4);
    head.writeUInt32LE(e.key.length, el + 8);
    head.writeUInt32LE(e.value.length, el + 12);
    data.push(e.key, e.value);
    at += e.key.length + e.value.length;
  });
  return Buffer.concat([head, ...data]);
}

function branch(id: number, children: { key: Buffer; pgid: number }[]): Buffer {
  const head = Buffer.alloc(16 + children.length * 16);
  head.writeBigUInt64LE(BigInt(id), 0);
  head.writeUInt16LE(0x01, 8);
  head.writeUInt16LE(children.length, 10);
  let at = head.length;
  children.forEach((c, i) => {
    const el = 16 + i * 16;
    head.writeUInt32LE(at - el, el);
    head.writeUInt32LE(c.key.length, el + 4);
    head.writeBigUInt64LE(BigInt(c.pgid), el + 8);
    at += c.key.length;
  });
  return Buffer.concat([head, ...children.map((c) => c.key)]);
}

function bucketValue(root: number, inline?: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(root), 0);
  return inline ? Buffer.concat([head, inline]) : head;
}

function meta(id: number, root: number, pages: number): Buffer {
  const p = Buffer.alloc(pageSize);
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(0x04, 8);
  p.writeUInt32LE(0xed0cdaed, 16);
  p.writeUInt32LE(2, 20);
  p.writeUInt32LE(pageSize, 24);
  p.writeBigUInt64LE(BigInt(root), 32);
  p.writeBigUInt64LE(BigInt(pages), 56);
  return p;
}

/** Pages in order, each padded to its span; `pages[i]` starts at page i. */
function file(pages: Buffer[]): Buffer {
  return Buffer.concat(pages.map((p) => Buffer.concat([p, Buffer.alloc(Math.ceil(Math.max(p.length, 1) / pageSize) * pageSize - p.length)])));
}

const compaction = (name: string, main: number) => ({ key: Buffer.from(name), value: rev(main) });

/** root(2) -> key bucket branch(3) -> leaves 4 and 5 (5 overflows into 6); 7 is a free page. */
function database(metaBucket: Leaf, freePage: Buffer): Buffer {
  const root = leaf(2, [
    { key: Buffer.from('key'), value: bucketValue(3), bucket: true },
    { key: Buffer.from('lease'), value: bucketValue(0, leaf(0, [])), bucket: true },
    { key: Buffer.from('meta'), value: bucketValue(0, leaf(0, metaBucket)), bucket: true },
  ]);
  const keys = branch(3, [
    { key: rev(1), pgid: 4 },
    { key: rev(10), pgid: 5 },
  ]);
  const low = leaf(4, [1, 2, 3].map((m) => ({ key: rev(m), value: Buffer.from('v') })));
  const high = leaf(5, [{ key: rev(10), value: Buffer.alloc(700, 1) }, { key: rev(12, true), value: Buffer.from('x') }], 1);
  expect(high.length).toBeGreaterThan(pageSize);
  return file([meta(0, 2, 8), meta(1, 2, 8), root, keys, low, high, freePage]);
}

const scan = (bytes: Buffer, chunk = 97) => {
  const s = new BoltRevisionScanner();
  for (let at = 0; at < bytes.length; at += chunk) s.feed(bytes.subarray(at, at + chunk));
  return s;
};

describe('BoltRevisionScanner', () => {
  const stale = leaf(7, [{ key: rev(999), value: Buffer.from('written after the snapshot began') }]);

  it('reads the last key of the key bucket through a branch and an overflow page', () => {
    const db = database([{ key: Buffer.from('consistent_index'), value: Buffer.alloc(8) }], stale);
    expect(scan(db).revision()).toBe(12);
    expect(scan(db, 4096).revision()).toBe(12);
    expect(scan(db, 1).revision()).toBe(12);
  });

  it('ignores a page the tree does not reach, whatever revision it holds', () => {
    expect(scan(database([], stale)).revision()).toBe(12);
  });

  it('raises the revision to a compaction recorded in the meta bucket, as etcd does on restore', () => {
    expect(scan(database([compaction('finishedCompactRev', 15)], stale)).revision()).toBe(15);
    expect(scan(database([compaction('finishedCompactRev', 11), compaction('scheduledCompactRev', 20)], stale)).revision()).toBe(20);
    expect(scan(database([compaction('finishedCompactRev', 5)], stale)).revision()).toBe(12);
  });

  it('reads an inline key bucket, and an empty one as revision 1', () => {
    const inline = (keys: Leaf) => file([meta(0, 2, 3), meta(1, 2, 3), leaf(2, [{ key: Buffer.from('key'), value: bucketValue(0, leaf(0, keys)), bucket: true }])]);
    expect(scan(inline([{ key: rev(4), value: Buffer.from('a') }, { key: rev(6, true), value: Buffer.from('b') }])).revision()).toBe(6);
    expect(scan(inline([])).revision()).toBe(1);
  });

  it('says why when the bytes are not a whole bbolt file', () => {
    expect(() => scan(Buffer.alloc(4096)).revision()).toThrow(/not a bbolt database/);
    expect(() => scan(database([], stale).subarray(0, 5 * pageSize)).revision()).toThrow(/ended at page 5 of 8/);
    const missing = database([], stale);
    missing.fill(0, 3 * pageSize, 4 * pageSize);
    expect(() => scan(missing).revision()).toThrow(/page 3 of the snapshot is not a page of its tree/);
  });

  it('tells a file cut short from a whole one without walking the tree (what a restore refuses on)', () => {
    const db = database([], stale);
    expect(scan(db).incomplete()).toBeUndefined();
    // A trailing digest (etcd's snapshot file) is a partial page, not a missing one.
    expect(scan(Buffer.concat([db, Buffer.alloc(32, 7)])).incomplete()).toBeUndefined();
    expect(scan(db.subarray(0, db.length - pageSize)).incomplete()).toBe('the snapshot ended at page 7 of 8');
    expect(scan(db.subarray(0, db.length - 100)).incomplete()).toBe('the snapshot ended at page 7 of 8');
    expect(scan(Buffer.alloc(4096)).incomplete()).toMatch(/not a bbolt database/);
    expect(scan(db.subarray(0, 40)).incomplete()).toBe('the snapshot ended before its meta page');
    // A page zeroed in the middle is the tree's business (revision() says so), not a short count.
    const missing = Buffer.from(db);
    missing.fill(0, 3 * pageSize, 4 * pageSize);
    expect(scan(missing).incomplete()).toBeUndefined();
  });
});
