/**
 * The exact revision a snapshot holds, read from the database bytes as they stream past.
 *
 * A Status call before Maintenance.Snapshot only gives a lower bound: writes applied between the
 * two are in the snapshot. The snapshot is etcd's bbolt file as of one read transaction
 * (bbolt's Tx.WriteTo: two meta pages for that transaction, then the file's pages in order), so
 * its revision is what etcd itself computes when it opens that file (mvcc store.restore): the
 * main revision of the last key in the `key` bucket, raised to the `finishedCompactRev` and
 * `scheduledCompactRev` of the `meta` bucket (a compaction may have removed the newest keys,
 * e.g. a tombstone), and at least 1. `etcdutl snapshot status` reports the first part only.
 *
 * The file is read as a B+tree from the meta page's root, never by scanning for key shapes:
 * pages the read transaction does not reach may hold data written after it began (WriteTo copies
 * the live file, whose free pages later transactions reuse). As the tree's pages may come in any
 * order, each page is reduced to what a walk needs (a branch's child for each key looked up and
 * its last child; a leaf's last revision and the values looked up), and the walk runs at the end.
 * Memory: 9 bytes per page plus one page (or one page with its overflow, up to a cap) in flight.
 */
import { Transform, type TransformCallback } from 'node:stream';

const magic = 0xed0cdaed;
const headerSize = 16;
const elementSize = 16;
const branchFlag = 0x01;
const leafFlag = 0x02;
const bucketLeafFlag = 0x01;
/** Bytes of the first meta page that hold everything read from it. */
const metaBytes = headerSize + 64;
/** An overflowing page is held whole until parsed; one larger than this is not read. */
const maxSpanBytes = 64 * 1024 * 1024;
const maxInFlightBytes = 128 * 1024 * 1024;

/** Keys looked up by name: the two buckets in the root, the two compaction marks in `meta`. */
const targets = ['key', 'meta', 'finishedCompactRev', 'scheduledCompactRev'].map((s) => Buffer.from(s));
const [keyBucket, metaBucket, finishedCompact, scheduledCompact] = [0, 1, 2, 3];
const targetLengths = new Set(targets.map((t) => t.length));

interface Branch {
  last: number;
  /** The child to descend into for each of `targets`, as bbolt's cursor would. */
  byTarget: number[];
}

interface Pending {
  pgid: number;
  parts: Buffer[];
  missing: number;
}

type Ref = { pgid: number } | { inline: Buffer };

/** Feeds on the database bytes (etcd's digest trailer already stripped); `revision()` at the end. */
export class BoltRevisionScanner {
  private prefix: Buffer[] = [];
  private prefixLength = 0;
  private pageSize = 0;
  private rootPgid = 0;
  private pageCount = 0;
  private page: Buffer = Buffer.alloc(0);
  private fill = 0;
  private pgid = 0;
  private pending: Pending[] = [];
  private inFlight = 0;
  private readonly branches = new Map<number, Branch>();
  /** Per page: the last key's main revision; -1 an empty leaf, -2 a last key of another shape, NaN not a leaf read. */
  private lastMain = new Float64Array(0);
  private readonly found = new Map<number, Map<number, Buffer>>();
  private readonly unread = new Set<number>();
  private error: Error | undefined;

  feed(chunk: Buffer): void {
    if (this.error) return;
    try {
      if (this.pageSize === 0) {
        this.prefix.push(chunk);
        this.prefixLength += chunk.length;
        if (this.prefixLength < metaBytes) return;
        const head = Buffer.concat(this.prefix);
        this.prefix = [];
        this.readMeta(head);
        chunk = head;
      }
      this.assemble(chunk);
    } catch (err) {
      this.error = err instanceof Error ? err : new Error(String(err));
    }
  }

  /**
   * Why the bytes are not a whole bbolt file, without walking its tree: no meta page, no magic,
   * or fewer pages than the meta page counts (a file cut short); undefined when whole. A restore
   * refuses on this alone (etcdutl restores a file missing its last pages without a word).
   */
  incomplete(): string | undefined {
    if (this.pageSize === 0) return this.error?.message ?? 'the snapshot ended before its meta page';
    if (this.error) return undefined; // a page did not parse: the count is unknown, not short
    return this.pgid < this.pageCount ? `the snapshot ended at page ${this.pgid} of ${this.pageCount}` : undefined;
  }

  /** The snapshot's revision, or why it could not be read. */
  revision(): number {
    if (this.error) throw this.error;
    if (this.pageSize === 0) throw new Error('the snapshot ended before its meta page');
    if (this.pgid < this.pageCount) throw new Error(`the snapshot ended at page ${this.pgid} of ${this.pageCount}`);
    const root = { pgid: this.rootPgid };
    const keys = this.bucket(root, keyBucket);
    const meta = this.bucket(root, metaBucket);
    const compactions = meta ? [finishedCompact, scheduledCompact].map((t) => this.lookup(meta, t)).map((v) => (v && v.length >= 8 ? mainOf(v) : 0)) : [];
    return Math.max(1, keys ? this.lastRevision(keys) : 0, ...compactions);
  }

  private readMeta(head: Buffer): void {
    if (head.readUInt32LE(headerSize) !== magic) throw new Error('the snapshot is not a bbolt database (no magic number in its first page)');
    this.pageSize = head.readUInt32LE(headerSize + 8);
    if (this.pageSize < 512 || this.pageSize > 1 << 20) throw new Error(`implausible bbolt page size ${this.pageSize}`);
    this.rootPgid = safeNumber(head.readBigUInt64LE(headerSize + 16));
    this.pageCount = safeNumber(head.readBigUInt64LE(headerSize + 40));
    if (this.pageCount > 2 ** 32) throw new Error(`implausible bbolt page count ${this.pageCount}`);
    this.lastMain = new Float64Array(this.pageCount).fill(Number.NaN);
    this.page = Buffer.alloc(this.pageSize);
  }

  private assemble(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(this.pageSize - this.fill, chunk.length - at);
      chunk.copy(this.page, this.fill, at, at + n);
      this.fill += n;
      at += n;
      if (this.fill === this.pageSize) {
        this.onPage(this.pgid, this.page);
        this.pgid++;
        this.fill = 0;
      }
    }
  }

  /** Every page-sized block is a candidate: a free page's stale header may claim an overflow. */
  private onPage(pgid: number, page: Buffer): void {
    for (const p of this.pending) {
      p.parts.push(Buffer.from(page));
      p.missing--;
    }
    for (const p of this.pending.filter((x) => x.missing === 0)) {
      const whole = Buffer.concat(p.parts);
      this.inFlight -= whole.length;
      this.parse(p.pgid, whole);
    }
    this.pending = this.pending.filter((x) => x.missing > 0);
    if (pgid >= this.pageCount || page.readBigUInt64LE(0) !== BigInt(pgid)) return;
    const flags = page.readUInt16LE(8);
    if (flags !== branchFlag && flags !== leafFlag) return;
    const overflow = page.readUInt32LE(12);
    if (overflow === 0) return this.parse(pgid, page);
    const span = (overflow + 1) * this.pageSize;
    if (span > maxSpanBytes || this.inFlight + span > maxInFlightBytes || pgid + overflow >= this.pageCount) {
      this.unread.add(pgid);
      return;
    }
    this.inFlight += span;
    this.pending.push({ pgid, parts: [Buffer.from(page)], missing: overflow });
  }

  /** A page's header or elements out of bounds mean it is not part of the tree: it is skipped. */
  private parse(pgid: number, page: Buffer): void {
    const flags = page.readUInt16LE(8);
    if (flags === branchFlag) {
      let keys;
      try {
        keys = branchElements(page);
      } catch {
        return; // a child id beyond any page: stale bytes, not part of the tree
      }
      if (!keys || keys.length === 0) return;
      this.branches.set(pgid, { last: keys.at(-1)!.pgid, byTarget: targets.map((t) => childFor(keys, t)) });
      return;
    }
    // Only the last key and the few names looked up are read: most leaves are the key bucket's.
    const count = page.readUInt16LE(10);
    if (headerSize + count * elementSize > page.length) return;
    const values = new Map<number, Buffer>();
    let last: Buffer | undefined;
    for (let i = 0; i < count; i++) {
      const at = headerSize + i * elementSize;
      const ksize = page.readUInt32LE(at + 8);
      if (i < count - 1 && !targetLengths.has(ksize)) continue;
      const start = at + page.readUInt32LE(at + 4);
      const end = start + ksize + page.readUInt32LE(at + 12);
      if (end > page.length) return;
      const key = page.subarray(start, start + ksize);
      if (i === count - 1) last = key;
      const t = targets.findIndex((x) => x.equals(key));
      const bucket = (page.readUInt32LE(at) & bucketLeafFlag) !== 0;
      if (t >= 0 && bucket === (t === keyBucket || t === metaBucket)) values.set(t, Buffer.from(page.subarray(start + ksize, end)));
    }
    this.lastMain[pgid] = !last ? -1 : revisionShaped(last) ? mainOf(last) : -2;
    if (values.size > 0) this.found.set(pgid, values);
  }

  private bucket(ref: Ref, target: number): Ref | undefined {
    const value = this.lookup(ref, target);
    if (!value) return undefined;
    if (value.length < 16) throw new Error('a bucket header is cut short');
    const root = safeNumber(value.readBigUInt64LE(0));
    return root === 0 ? { inline: value.subarray(16) } : { pgid: root };
  }

  private lookup(ref: Ref, target: number): Buffer | undefined {
    if ('inline' in ref) {
      const elements = leafElements(ref.inline);
      if (!elements) throw new Error('an inline bucket is malformed');
      return elements.find((e) => e.key.equals(targets[target]!))?.value;
    }
    const pgid = this.leafUnder(ref.pgid, (b) => b.byTarget[target]!);
    return this.found.get(pgid)?.get(target);
  }

  private lastRevision(ref: Ref): number {
    if ('inline' in ref) {
      const last = leafElements(ref.inline)?.at(-1);
      if (!last) return 0;
      if (!revisionShaped(last.key)) throw new Error('the key bucket holds a key that is not a revision');
      return mainOf(last.key);
    }
    const main = this.lastMain[this.leafUnder(ref.pgid, (b) => b.last)]!;
    if (main === -1) return 0;
    if (!(main >= 0)) throw new Error('the key bucket\'s last key is not a revision');
    return main;
  }

  private leafUnder(pgid: number, child: (b: Branch) => number): number {
    for (let depth = 0; depth < 64; depth++) {
      if (this.unread.has(pgid)) throw new Error(`page ${pgid} of the snapshot was not read (an overflow larger than ${maxSpanBytes} bytes)`);
      const branch = this.branches.get(pgid);
      if (!branch) {
        if (Number.isNaN(this.lastMain[pgid] ?? Number.NaN)) throw new Error(`page ${pgid} of the snapshot is not a page of its tree`);
        return pgid;
      }
      pgid = child(branch);
    }
    throw new Error('the snapshot\'s tree is deeper than 64 levels');
  }
}

/** Passes the database bytes on unchanged and scans them; `revision()` once the stream ended. */
export class SnapshotRevisionReader extends Transform {
  private readonly scanner = new BoltRevisionScanner();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.scanner.feed(chunk);
    callback(null, chunk);
  }

  revision(): number {
    return this.scanner.revision();
  }

  incomplete(): string | undefined {
    return this.scanner.incomplete();
  }
}

interface BranchElement {
  key: Buffer;
  pgid: number;
}

interface LeafElement {
  key: Buffer;
  value: Buffer;
  bucket: boolean;
}

function branchElements(page: Buffer): BranchElement[] | undefined {
  const out: BranchElement[] = [];
  for (let i = 0; i < page.readUInt16LE(10); i++) {
    const at = headerSize + i * elementSize;
    if (at + elementSize > page.length) return undefined;
    const start = at + page.readUInt32LE(at);
    const end = start + page.readUInt32LE(at + 4);
    if (end > page.length) return undefined;
    out.push({ key: page.subarray(start, end), pgid: safeNumber(page.readBigUInt64LE(at + 8)) });
  }
  return out;
}

function leafElements(page: Buffer): LeafElement[] | undefined {
  if (page.length < headerSize || page.readUInt16LE(8) !== leafFlag) return undefined;
  const out: LeafElement[] = [];
  for (let i = 0; i < page.readUInt16LE(10); i++) {
    const at = headerSize + i * elementSize;
    if (at + elementSize > page.length) return undefined;
    const start = at + page.readUInt32LE(at + 4);
    const keyEnd = start + page.readUInt32LE(at + 8);
    const end = keyEnd + page.readUInt32LE(at + 12);
    if (end > page.length) return undefined;
    out.push({ key: page.subarray(start, keyEnd), value: page.subarray(keyEnd, end), bucket: (page.readUInt32LE(at) & bucketLeafFlag) !== 0 });
  }
  return out;
}

/** bbolt's cursor: the last element whose key is at most the target, else the first. */
function childFor(elements: BranchElement[], target: Buffer): number {
  let pick = elements[0]!.pgid;
  for (const e of elements) {
    if (Buffer.compare(e.key, target) > 0) break;
    pick = e.pgid;
  }
  return pick;
}

/** etcd's revision key: 8 bytes main, '_', 8 bytes sub, and a 't' for a tombstone. */
function revisionShaped(key: Buffer): boolean {
  return (key.length === 17 || (key.length === 18 && key[17] === 0x74)) && key[8] === 0x5f;
}

function mainOf(key: Buffer): number {
  return safeNumber(key.readBigUInt64BE(0));
}

function safeNumber(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${n} is beyond what the scanner handles`);
  return Number(n);
}
