/**
 * The old CA's remaining life while a rotation is under way. Pure. A rotation started for the
 * CA's expiry begins `renewBefore` ahead of it; one stuck (a member that never becomes Ready, a
 * Secret to restore) or slow eats that margin, and the leaves the old CA signed end with it
 * (capped at its expiry): members still serving them then lose their peers and clients. Past half
 * the margin, with a leaf still signed by the old CA, a person is told, with the time left.
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

/** Degraded when the old CA ends within half of renewBefore and some leaf still comes from it. */
export function oldCaDeadline(
  oldPem: string,
  nextPem: string,
  leaves: Partial<Record<LeafKind, LeafFacts>>,
  step: RotationStep['kind'] | 'start',
  policy: TlsPolicy,
  now: Date,
): Problem<'CARotationOverdue'> | undefined {
  const old = parseCertificate(oldPem);
  if (!old || oldPem.trim() === nextPem.trim()) return undefined;
  const notAfter = new Date(old.validTo);
  if (now.getTime() < notAfter.getTime() - policy.renewBeforeMs / 2) return undefined;
  const byOld = (Object.entries(leaves) as [LeafKind, LeafFacts][]).filter(([, leaf]) => !issuedBy(leaf, nextPem) && issuedBy(leaf, oldPem)).map(([kind]) => kind);
  if (byOld.length === 0) return undefined;
  const left = notAfter.getTime() - now.getTime();
  const when = left > 0 ? `expires at ${notAfter.toISOString()}, in ${formatDuration(left)}` : `expired at ${notAfter.toISOString()}, ${formatDuration(-left)} ago`;
  const message =
    `a CA rotation is under way and the old CA (${old.subject.replaceAll('\n', ', ')}) ${when}; the ${byOld.join(', ')} certificate(s) it signed end with it, ` +
    `and members still serving them then lose their peers and clients. The rotation is ${where[step]}: help it finish before then`;
  return { reason: 'CARotationOverdue', message };
}
