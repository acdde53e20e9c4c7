import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { actEmptyData } from '../../../src/controller/empty-data.js';
import { FakeClock } from '../../../src/runtime/clock.js';
import { sampleCluster } from '../../../src/resources/fixtures.js';
import { FakeCache, RecordingWriter } from './fakes.js';
import { ref } from './world.js';

// The refused pod's delete carries its uid: a pod gone or replaced since the cache showed it is
// the next pass's to look at, not a failed pass.
describe('acting on an emptied data directory', () => {
  const steps = [
    { kind: 'deletePod' as const, ordinal: 1, pod: 'main-1', uid: 'uid-1', memberHex: '2a' },
    { kind: 'annotate' as const, ordinal: 0, pod: 'main-0', uid: 'uid-0', refusal: ',empty-data-dir=refused-empty-data-dir://member-29' },
  ];
  const setup = () => {
    const cache = new FakeCache();
    const writer = new RecordingWriter(cache, new FakeClock());
    const ctx = { cluster: sampleCluster(), ref, writer, log: winston.createLogger({ silent: true }), now: new Date('2026-01-01T00:00:00Z') };
    return { writer, ctx, writes: () => writer.writes.map((w) => `${w.op} ${w.what}`) };
  };

  it('deletes the refused pod and says so, then writes the other pods\' refusals', async () => {
    const { ctx, writes } = setup();
    await actEmptyData(steps, ctx);
    expect(writes()).toEqual(['delete Pod/main-1', 'event Warning/MemberDataDirEmptied', 'apply Pod/main-0']);
  });

  it.each([[404, 'NotFound'], [409, 'Conflict']])('a delete answered %i (%s) says nothing and goes on', async (code, reason) => {
    const { writer, ctx, writes } = setup();
    writer.refuse('delete', /Pod\/main-1/, code, reason);
    await actEmptyData(steps, ctx);
    expect(writes()).toEqual(['apply Pod/main-0']);
  });

  it('any other failure of the delete fails the pass', async () => {
    const { writer, ctx } = setup();
    writer.refuse('delete', /Pod\/main-1/, 500, 'InternalError');
    await expect(actEmptyData(steps, ctx)).rejects.toThrow();
  });
});
