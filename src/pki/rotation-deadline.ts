/**
 * What ends first while a rotation is under way. Pure. A rotation started for the CA's expiry
 * begins `renewBefore` ahead of it; one stuck (a member that never becomes Ready, a Secret to
 * restore) or slow eats that margin. Leaves the old CA signed end with it (capped at its expiry),
 * and while a rotation is under way a leaf is renewed only as it waits for a roll, and only when
 * its CA outlives renewBefore (rotation-renewal.ts): members still serving a certificate past its
 * end lose their peers and clients. Past half the margin before
 * the first such end, a person is told, with the time left.
 */
import { type LeafFacts, type Problem, issuedBy, parseCertificate } from './inspect.js';
import type { TlsPolicy } from './policy.js';
import type { LeafKind } from './profiles.js';
import type { RotationStep } from './rotation.js';

/** "2h 5m", "4m 10s", "12s": the time left, for people. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const parts = d > 0 ? [`${d}d`, `${h}h`] : h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`, `${sec}s`] : [`${sec}s`];
  return parts.join(' ');
}

const where: Record<RotationStep['kind'] | 'start', string> = {
  start: 'starting',
  widen: 'widening the trust bundles',
  awaitRoll: 'waiting for the members to restart (look at the pods that are not Ready)',
  reissue: 'reissuing certificates from the new CA',
  promote: 'promoting the new CA',
  narrow: 'narrowing the trust bundles',
  finish: 'finishing',
  done: 'done',
  blocked: 'blocked (see CARotationBlocked)',
};

/**
 * Degraded when a leaf in use ends within half of renewBefore: by its own end or, signed by the
 * old CA, by the old CA's. The old CA's own end counts only while a leaf still comes from it.
 */
export function rotationDeadline(
  oldPem: string,
  nextPem: string,
  leaves: Partial<Record<LeafKind, LeafFacts>>,
  step: RotationStep['kind'] | 'start',
  policy: TlsPolicy,
  now: Date,
): Problem<'CARotationOverdue'> | undefined {
  const old = parseCertificate(oldPem);
  const oldEnd = old && oldPem.trim() !== nextPem.trim() ? new Date(old.validTo).getTime() : Infinity;
  const ends = (Object.entries(leaves) as [LeafKind, LeafFacts][]).map(([kind, leaf]) => {
    const byOld = oldEnd !== Infinity && !issuedBy(leaf, nextPem) && issuedBy(leaf, oldPem);
    return { kind, end: Math.min(leaf.notAfter.getTime(), byOld ? oldEnd : Infinity), withOld: byOld && oldEnd <= leaf.notAfter.getTime() };
  });
  const first = Math.min(...ends.map((e) => e.end));
  if (!Number.isFinite(first) || now.getTime() < first - policy.renewBeforeMs / 2) return undefined;
  const ending = ends.filter((e) => e.end - policy.renewBeforeMs / 2 <= now.getTime());
  const left = first - now.getTime();
  const at = new Date(first).toISOString();
  const when = left > 0 ? `end at ${at}, in ${formatDuration(left)}` : `ended at ${at}, ${formatDuration(-left)} ago`;
  const why = ending.some((e) => e.withOld)
    ? `with the old CA (${old!.subject.replaceAll('\n', ', ')}) that signed them`
    : 'during a rotation, certificates are renewed only while it waits for a roll, and only when their CA outlives renewBefore';
  const message =
    `a CA rotation is under way and the ${ending.map((e) => e.kind).join(', ')} certificate(s) ${when} (${why}); ` +
    `members still serving them then lose their peers and clients. The rotation is ${where[step]}: help it finish before then`;
  // The time left moves every pass; the state is which certificates end when.
  return { reason: 'CARotationOverdue', message, key: `${ending.map((e) => e.kind).join(',')}@${at}` };
}
