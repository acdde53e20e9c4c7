import { describe, expect, it } from 'vitest';
import { EndpointMemory, probeAll } from './endpoint-memory.js';
import { EtcdAdminError } from './errors.js';
import type { EndpointStatus } from './types.js';

const timeout = (endpoint: string) => new EtcdAdminError({ kind: 'DeadlineExceeded', op: 'status', endpoint });
const refused = (endpoint: string) => new EtcdAdminError({ kind: 'Unavailable', op: 'status', endpoint });
const status = (endpoint: string) => ({ endpoint, memberId: '1' }) as EndpointStatus;
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function memory() {
  const clock = { now: 0 };
  return { clock, memory: new EndpointMemory({ now: () => clock.now, firstProbeMs: 1_000, maxProbeMs: 4_000 }) };
}

describe('EndpointMemory', () => {
  it('silences an endpoint that ran out its deadline, not one that refused', async () => {
    const { memory: m } = memory();
    await m.track('a', () => Promise.reject(timeout('a'))).catch(() => undefined);
    await m.track('b', () => Promise.reject(refused('b'))).catch(() => undefined);
    expect(m.silenced('a')?.kind).toBe('DeadlineExceeded');
    expect(m.silenced('b')).toBeUndefined();
  });

  it('answers a silent endpoint at once with its last error, probing it beside the pass once due', async () => {
    const { clock, memory: m } = memory();
    await m.track('a', () => Promise.reject(timeout('a'))).catch(() => undefined);
    const asked: string[] = [];
    let answers = false;
    const ask = (e: string) => m.track(e, () => (asked.push(e), answers || e !== 'a' ? Promise.resolve(status(e)) : Promise.reject(timeout(e))));
    const probes = await probeAll(['a', 'b'], m, ask);
    expect(probes.map((p) => ('error' in p ? p.error.kind : 'ok'))).toEqual(['DeadlineExceeded', 'ok']);
    expect(asked).toEqual(['b']);
    clock.now = 1_000;
    await probeAll(['a', 'b'], m, ask);
    await settle();
    expect(asked).toEqual(['b', 'a', 'b']);
    // Still silent; the next probe waits twice as long (1 s, then 2 s).
    clock.now = 2_999;
    await probeAll(['a'], m, ask);
    expect(asked.filter((e) => e === 'a')).toHaveLength(1);
    clock.now = 3_000;
    answers = true;
    expect('error' in (await probeAll(['a'], m, ask))[0]!).toBe(true);
    await settle();
    expect(m.silenced('a')).toBeUndefined();
    expect('status' in (await probeAll(['a'], m, ask))[0]!).toBe(true);
  });

  it('runs one probe at a time and forgets endpoints that left', async () => {
    const { clock, memory: m } = memory();
    await m.track('a', () => Promise.reject(timeout('a'))).catch(() => undefined);
    clock.now = 5_000;
    let started = 0;
    const hang = () => (started++, new Promise<never>(() => undefined));
    m.probeInBackground('a', hang);
    m.probeInBackground('a', hang);
    expect(started).toBe(1);
    m.retain(['b']);
    expect(m.silenced('a')).toBeUndefined();
  });
});
