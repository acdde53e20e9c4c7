/** Carries out one upkeep step: one etcd call (and a read of the result), an event, metrics. */
import type { Logger } from 'winston';
import type { EtcdCluster } from '../api/types.generated.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import { hexId } from '../etcd/convert.js';
import type { EtcdAdmin } from '../etcd/types.js';
import type { ClusterRef } from '../resources/names.js';
import { upkeepEvents } from './describe.js';
import type { UpkeepMetrics } from './metrics.js';
import type { UpkeepStep } from './plan.js';

export interface UpkeepContext {
  admin: EtcdAdmin;
  cluster: EtcdCluster;
  ref: ClusterRef;
  writer: KubeWriter;
  log: Logger;
  now: Date;
  metrics?: UpkeepMetrics;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function event(ctx: UpkeepContext, reason: string, message: string, fields: Record<string, unknown> = {}): Promise<void> {
  ctx.log.info(message, { event: reason, ...fields });
  await ctx.writer.event(ctx.cluster, 'Normal', reason, message, ctx.now);
}

/** Whether it acted (and the next pass should come soon). Errors are thrown: the pass reports them. */
export async function actUpkeep(step: UpkeepStep, ctx: UpkeepContext): Promise<boolean> {
  switch (step.kind) {
    case 'compact':
      await ctx.admin.compact(step.revision);
      await event(ctx, upkeepEvents.compacted, `NOSPACE: compacted the history up to revision ${step.revision}`);
      return true;
    case 'moveLeader':
      await ctx.admin.moveLeader(step.toId);
      await event(ctx, upkeepEvents.movedLeader, `moved leadership from ${step.forMember} (${hexId(step.fromId)}) to ${step.toName} (${hexId(step.toId)}) to defragment ${step.forMember}`);
      return true;
    case 'defragment': {
      const started = performance.now();
      await ctx.admin.defragment(step.endpoint);
      const seconds = (performance.now() - started) / 1000;
      // The new size, as the member reports it; the next pass reads it again anyway.
      const after = await ctx.admin.status(step.endpoint).then((s) => s.dbSize, () => undefined);
      ctx.metrics?.defragmented(ctx.ref, step.reason, seconds);
      const result = after === undefined ? '' : `, now ${mib(after)}`;
      await event(ctx, upkeepEvents.defragmented, `defragmented ${step.name}${step.reason === 'noSpace' ? ' (NOSPACE)' : ''} in ${seconds.toFixed(1)} s: its database file was ${mib(step.dbSize)} with ${mib(step.freeBytes)} free${result}`, { member: step.name, before: step.dbSize, after, seconds });
      return true;
    }
    case 'disarm':
      await ctx.admin.alarmDisarm(step.alarm);
      await event(ctx, upkeepEvents.alarmDisarmed, `disarmed the ${step.alarm.alarm} alarm of member ${hexId(step.alarm.memberId)}: writes are accepted again`);
      return true;
    case 'wait':
    case 'none':
      return false;
  }
}
