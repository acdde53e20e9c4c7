import { describe, expect, it } from 'vitest';
import { parseWalIdentity } from './wal.js';

// Frames as etcd's WAL encoder writes them; the real files of 3.5.35 and 3.6.16 are read in
// test/integration/member-init-guard.test.ts.
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? low | 0x80 : low);
  } while (n > 0n);
  return out;
};
const record = (type: bigint, data: number[]): number[] => [0x08, ...varint(type), 0x10, ...varint(123n), 0x1a, ...varint(BigInt(data.length)), ...data];
function frame(rec: number[]): number[] {
  const pad = (8 - (rec.length % 8)) % 8;
  let len = BigInt(rec.length);
  if (pad) len |= BigInt(0x80 | pad) << 56n;
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, len, true);
  return [...head, ...rec, ...new Array<number>(pad).fill(0)];
}
const metadata = (member: bigint, cluster: bigint) => [0x08, ...varint(member), 0x10, ...varint(cluster)];

describe("the WAL's member", () => {
  it('reads the member and cluster IDs (64-bit) from the metadata record after the CRC record', () => {
    const member = 0xd3a1_9c4e_0b2f_7781n;
    const bytes = Uint8Array.from([...frame(record(4n, [])), ...frame(record(1n, metadata(member, 0x1234_5678_9abc_def0n))), ...frame(record(3n, [1, 2, 3]))]);
    expect(parseWalIdentity(bytes)).toEqual({ memberId: member.toString(), clusterId: 0x1234_5678_9abc_def0n.toString() });
  });

  it('gives nothing for a file without metadata, a truncated one or zeros (a preallocated file)', () => {
    expect(parseWalIdentity(Uint8Array.from(frame(record(4n, []))))).toBeUndefined();
    const whole = [...frame(record(4n, [])), ...frame(record(1n, metadata(5n, 6n)))];
    expect(parseWalIdentity(Uint8Array.from(whole.slice(0, whole.length - 8)))).toBeUndefined();
    expect(parseWalIdentity(new Uint8Array(4096))).toBeUndefined();
  });
});
