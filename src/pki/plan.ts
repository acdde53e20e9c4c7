/**
 * The PKI decision of one reconcile pass: from the Secrets observed, which to (re)issue and why,
 * and what to report. Pure (no I/O, no clock); nothing due means an empty plan and nothing written.
 *
 * In words: find the signing CA (the user's referenced Secret, never written; or the operator's
 * own, generated when missing). Without a usable CA, report why and touch nothing. Then compare
 * each leaf Secret with its profile and the renewal policy. Secrets the EtcdCluster does not
 * control are reported, never overwritten.
 *
 * The rule above all others: once members may trust a CA (`trustInUse`), the plan never signs
 * with another one. A new CA issued then, with no overlap, leaves members trusting only the old
 * one until restarted, and the operator's new client certificate is refused, so it can no longer
 * run the restarts. A lost, damaged or changed CA is reported, and nothing is issued until a
 * person restores it.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { annotationKeys, names } from '../resources/names.js';
import { type CaFacts, type CaProblemReason, type LeafFacts, type Problem, inspectCa, inspectLeaf, issuedBy, ownedBy, parseCertificate, secretKeys, secretText } from './inspect.js';
import { type RenewalReason, type TlsPolicy, checkPolicy, renewalReason, renewalTime } from './policy.js';
import { type LeafKind, type PkiCluster, leafProfiles } from './profiles.js';
import { type RotationStep, pemBlocks, planRotation, splitBundle } from './rotation.js';
import { rotationDeadline } from './rotation-deadline.js';
import { type LeafRenewal, renewalsMidRotation } from './rotation-renewal.js';
import { type OperatorRotationSource, operatorRotationSource } from './rotation-sources.js';

export interface PkiInputs {
  cluster: PkiCluster;
  /** uid of the EtcdCluster: Secrets it controls are the operator's to replace. */
  ownerUid: string;
  policy: TlsPolicy;
  /** spec.tls.caSecretRef: a user CA in the cluster's namespace. Absent: the operator makes one. */
  caSecretRef?: { name: string };
  /**
   * Members, or clients given the user certificate, may trust the CA the leaves carry: the cluster
   * formed or its pods may run. A CA is then never minted, and never switched, by this plan.
   */
  trustInUse: boolean;
  /** The EtcdCluster's rotate-ca annotation: a token not yet recorded on the CA asks for a rotation. */
  rotateToken?: string;
  /** Members run the template for the Secrets as observed, every pod current and ready. */
  membersRolled?: boolean;
}

export interface ObservedPki {
  /** The Secret `caSecretRef` names or, without one, the operator's CA Secret; undefined if absent. */
  ca?: V1Secret;
  /** The operator's next CA (`<name>-ca-next`) while a rotation is under way. */
  next?: V1Secret;
  leaves: Partial<Record<LeafKind, V1Secret>>;
}

/** A rotation's next step, with the trust it moves between (certificates only, never keys). */
export interface RotationPlan {
  step: RotationStep | { kind: 'start'; reason: 'Requested' } | { kind: 'start'; reason: 'CAExpiring'; expiresAt: Date };
  oldPem: string;
  nextPem: string;
  /** The rotate-ca token to record on the next CA. */
  token?: string;
  /** Going back to the CA Secret's CA: the next CA was lost before the promotion (rotation-sources.ts). */
  back?: true;
}

export type PkiProblemReason = CaProblemReason | 'CAChanged' | 'CAExpiringSoon' | 'CARotationBlocked' | 'CARotationOverdue' | 'SecretNotOwned' | 'InvalidTLSPolicy';

export interface CaDecision {
  source: 'user' | 'operator';
  secretName: string;
  action: 'keep' | 'issue' | 'blocked';
  /** Why the operator's CA is (re)issued. */
  reason?: 'Missing' | 'Invalid' | 'Expired';
}

export interface LeafIssue {
  kind: LeafKind;
  secretName: string;
  reason: RenewalReason;
}

/**
 * Whether members restart is not the plan's to say: etcd re-reads its certificate and key on every
 * new connection but its trusted CA only at start, so the pod template carries a hash of the trust
 * the server Secret holds as observed (`memberTrustText`), and a change of it rolls the members.
 * Derived from the Secret, it survives a crash between writing a bundle and restarting; a leaf
 * renewal from the same CA leaves it unchanged and restarts nothing.
 */
export interface CertificatePlan {
  ca: CaDecision;
  issue: LeafIssue[];
  /** For a Degraded condition; empty when all is well. */
  problems: Problem<PkiProblemReason>[];
  /** The earliest renewal among the certificates kept, the CA's included, for `requeueAfter`. */
  nextRenewalAt?: Date;
  /** A CA rotation under way or starting; `issue` is then empty (the rotation writes the leaves). */
  rotation?: RotationPlan;
  /** While a rotation waits for a roll: leaves due, renewed from their own CA (rotation-renewal.ts). */
  renew?: LeafRenewal[];
}

function decideCa(observed: ObservedPki, inputs: PkiInputs, now: Date): { decision: CaDecision; ca?: CaFacts; problem?: Problem<PkiProblemReason> } {
  const c = inputs.cluster;
  if (inputs.caSecretRef) {
    const decision = { source: 'user', secretName: inputs.caSecretRef.name } as const;
    const explain = <R extends PkiProblemReason>(p: Problem<R>) => (inputs.trustInUse ? inUse(c, p) : p);
    if (!observed.ca) {
      const message = `Secret ${c.namespace}/${inputs.caSecretRef.name} named by spec.tls.caSecretRef does not exist`;
      return { decision: { ...decision, action: 'blocked' }, problem: explain({ reason: 'CASecretMissing', message }) };
    }
    const found = inspectCa(observed.ca, now);
    if ('problem' in found) return { decision: { ...decision, action: 'blocked' }, problem: explain(found.problem) };
    return guardTrust(observed, inputs, { ...decision, action: 'keep' }, found.ca);
  }
  const decision = { source: 'operator', secretName: names.caSecret(c) } as const;
  if (!observed.ca) {
    if (!inputs.trustInUse) return { decision: { ...decision, action: 'issue', reason: 'Missing' } };
    const problem = { reason: 'CASecretMissing', message: `Secret ${c.namespace}/${decision.secretName} does not exist` } as const;
    return { decision: { ...decision, action: 'blocked' }, problem: inUse(c, problem) };
  }
  if (!ownedBy(observed.ca, inputs.ownerUid)) {
    return { decision: { ...decision, action: 'blocked' }, problem: notOwned(c, decision.secretName) };
  }
  const found = inspectCa(observed.ca, now);
  if (!('problem' in found)) return guardTrust(observed, inputs, { ...decision, action: 'keep' }, found.ca);
  // A clock behind the CA's start is not the CA's fault: regenerating would change trust for nothing.
  if (found.problem.reason === 'CANotYetValid') return { decision: { ...decision, action: 'blocked' }, problem: found.problem };
  if (inputs.trustInUse) return { decision: { ...decision, action: 'blocked' }, problem: inUse(c, found.problem) };
  return { decision: { ...decision, action: 'issue', reason: found.problem.reason === 'CAExpired' ? 'Expired' : 'Invalid' } };
}

/**
 * A usable CA that is not the one members trust would split them: it is reported, not used. A
 * leaf of ours that still carries the CA alone, issued by it, says members trust it: a server or
 * peer bundle that differs was edited, and is reissued from the CA (IssuerChanged), never obeyed.
 */
function guardTrust(observed: ObservedPki, inputs: PkiInputs, decision: CaDecision, ca: CaFacts): { decision: CaDecision; ca?: CaFacts; problem?: Problem<PkiProblemReason> } {
  if (!inputs.trustInUse || !trustChanges(observed, ca.certPem) || vouchedFor(observed, inputs.ownerUid, ca.certPem)) return { decision, ca };
  const bundle = observed.leaves.server ? inspectLeaf(observed.leaves.server)?.caPem : undefined;
  if (!inputs.caSecretRef && pemBlocks(bundle).length > 1 && splitBundle(bundle).includes(splitBundle(ca.certPem)[0] ?? '')) {
    // Members trust this CA and another: a rotation of ours was under way and its next CA is gone.
    const message = `a CA rotation is under way (members trust two CAs, the one in Secret ${inputs.cluster.namespace}/${decision.secretName} among them) but Secret ${inputs.cluster.namespace}/${names.caNextSecret(inputs.cluster)}, which holds the other, is gone: restore it from a backup and the rotation resumes; nothing is issued until then`;
    return { decision: { ...decision, action: 'blocked' }, problem: { reason: 'CARotationBlocked', message } };
  }
  const problem = { reason: 'CAChanged', message: `Secret ${inputs.cluster.namespace}/${decision.secretName} holds another CA than the one members trust` } as const;
  return { decision: { ...decision, action: 'blocked' }, problem: inUse(inputs.cluster, problem) };
}

/** What a person must do about a CA that members trust and the operator cannot use. */
function inUse<R extends PkiProblemReason>(c: PkiCluster, problem: Problem<R>): Problem<R> {
  const bundle = `${c.namespace}/${names.serverSecret(c)}`;
  return {
    reason: problem.reason,
    message:
      `${problem.message}. Members trust the CA in ca.crt of Secret ${bundle}: restore that CA (certificate and key) from a backup. ` +
      'No certificate is issued or renewed until then; the operator never mints a new CA while members trust the old one ' +
      `(to change the CA of a running cluster, request a rotation with trust overlap: annotation ${annotationKeys.rotateCa}=<new token> on the EtcdCluster)`,
  };
}

function notOwned(c: PkiCluster, secretName: string): Problem<'SecretNotOwned'> {
  return { reason: 'SecretNotOwned', message: `Secret ${c.namespace}/${secretName} exists but is not controlled by EtcdCluster ${c.name}; it is left as it is` };
}

/**
 * The CA is within renewBefore of its expiry: the operator's is rotated then. A leaf it signed
 * (capped at the CA's expiry) would be due at once, so renewing leaves from it would loop.
 */
function expiringSoon(ca: CaFacts, policy: TlsPolicy, now: Date): boolean {
  return now >= renewalTime(ca.notAfter, policy);
}

function trustChanges(observed: ObservedPki, newCaPem: string | undefined): boolean {
  return (['server', 'peer'] as const).some((kind) => {
    const secret = observed.leaves[kind];
    const bundle = secret ? inspectLeaf(secret)?.caPem : undefined;
    return bundle !== undefined && bundle.trim() !== newCaPem?.trim();
  });
}

/** Some leaf of ours carries `caPem` alone as its bundle and was issued by it. */
function vouchedFor(observed: ObservedPki, ownerUid: string, caPem: string): boolean {
  return Object.values(observed.leaves).some((secret) => {
    const leaf = secret && ownedBy(secret, ownerUid) ? inspectLeaf(secret) : undefined;
    return leaf !== undefined && leaf.caPem?.trim() === caPem.trim() && issuedBy(leaf, caPem);
  });
}

/** Every server and peer bundle holds `caPem` (among others): past the widening of a rotation to it. */
function allTrust(observed: ObservedPki, caPem: string): boolean {
  const cert = splitBundle(caPem)[0];
  return (['server', 'peer'] as const).every((kind) => {
    const secret = observed.leaves[kind];
    return !secret || splitBundle(inspectLeaf(secret)?.caPem).includes(cert ?? '');
  });
}

/** The token recorded on a CA Secret: the rotation request it already answers. */
export function recordedToken(secret: V1Secret | undefined): string | undefined {
  return secret?.metadata?.annotations?.[annotationKeys.rotateCa];
}

/**
 * A rotation under way: the operator's `-ca-next` Secret exists, or a user CA that members do not
 * trust yet replaced the one they do (the old CA then lives on only in the leaves' bundles).
 */
function rotationUnderWay(observed: ObservedPki, inputs: PkiInputs, now: Date): CertificatePlan | undefined {
  if (!inputs.trustInUse) return undefined;
  const c = inputs.cluster;
  const bundle = [observed.leaves.server, observed.leaves.peer].map((s) => (s ? inspectLeaf(s)?.caPem : undefined)).find((b) => b !== undefined);
  const operatorCa = !inputs.caSecretRef;
  const caSecretName = operatorCa ? names.caSecret(c) : inputs.caSecretRef!.name;
  const ca = { source: operatorCa ? 'operator' : 'user', secretName: caSecretName } as const;
  const source = operatorCa ? operatorRotationSource(observed, c, inputs.ownerUid, now) : userRotationSource(observed, inputs, now);
  if (source.kind === 'none') return undefined;
  const leaves = ourLeafFacts(observed, inputs.ownerUid);
  if (source.kind === 'blocked') {
    const late = rotationDeadline(pemBlocks(bundle)[0] ?? '', '', leaves, 'blocked', inputs.policy, now);
    return { ca: { ...ca, action: 'blocked' }, issue: [], problems: [source.problem, ...(late ? [late] : [])] };
  }
  const { next, signer, promoted } = source;
  const nextKey = splitBundle(next.certPem)[0];
  const others = pemBlocks(bundle).filter((b) => splitBundle(b)[0] !== nextKey);
  const oldPem = operatorCa && !promoted && observed.ca ? secretText(observed.ca, secretKeys.cert)! : (others[0] ?? next.certPem);
  // Without a next-CA Secret (gone after the promotion) there is nothing to delete at the end.
  const finishes = operatorCa && source.nextSecret;
  const step = (operatorCa ? undefined : switchedMidRotation(bundle, next.certPem, `${c.namespace}/${caSecretName}`)) ?? planRotation({ oldPem, nextPem: next.certPem, leaves, rolled: inputs.membersRolled === true, operatorCa: finishes, promoted });
  const plan: CertificatePlan = { ca: { ...ca, action: 'keep' }, issue: [], problems: [] };
  if (step.kind === 'blocked') plan.problems.push(step.problem);
  if (step.kind === 'done') return undefined;
  if (step.kind === 'awaitRoll') {
    const oldKeyHeld = operatorCa && !promoted && observed.ca !== undefined;
    const { renew, nextRenewalAt } = renewalsMidRotation({ leaves, oldPem, nextPem: next.certPem, oldKeyHeld, policy: inputs.policy, now });
    if (renew.length > 0) plan.renew = renew;
    if (nextRenewalAt) plan.nextRenewalAt = nextRenewalAt;
  }
  // Judged on the leaves as observed: a renewal this pass makes is seen, and the warning dropped, by the next.
  const late = rotationDeadline(oldPem, next.certPem, leaves, step.kind, inputs.policy, now);
  if (late) plan.problems.push(late);
  return { ...plan, rotation: { step, oldPem, nextPem: next.certPem, token: recordedToken(signer), ...(source.back ? { back: true as const } : {}) } };
}

function ourLeafFacts(observed: ObservedPki, ownerUid: string): Partial<Record<LeafKind, LeafFacts>> {
  const leaves: Partial<Record<LeafKind, LeafFacts>> = {};
  for (const [kind, secret] of Object.entries(observed.leaves) as [LeafKind, V1Secret][]) {
    const facts = ownedBy(secret, ownerUid) ? inspectLeaf(secret) : undefined;
    if (facts) leaves[kind] = facts;
  }
  return leaves;
}

/**
 * A user CA that members do not trust yet replaced the one they do: the rotation signs with it.
 * Mid-rotation exactly while the bundles hold another CA than it; not when a leaf already trusts
 * it alone while a bundle lacks it: no rotation narrows before it widens, so that bundle was
 * edited (guardTrust then reissues it).
 */
function userRotationSource(observed: ObservedPki, inputs: PkiInputs, now: Date): OperatorRotationSource {
  const found = observed.ca && inspectCa(observed.ca, now);
  if (!found || 'problem' in found) return { kind: 'none' };
  const next = found.ca;
  if (!trustChanges(observed, next.certPem) || (vouchedFor(observed, inputs.ownerUid, next.certPem) && !allTrust(observed, next.certPem))) return { kind: 'none' };
  return { kind: 'rotate', next, signer: observed.ca!, promoted: true, nextSecret: false };
}

/**
 * The user's CA Secret changed again while a rotation between two other CAs is under way (the
 * bundles hold both, and neither is it): blocked, saying so. Putting back either CA resumes the
 * rotation, forward or back; the leaves are not the problem.
 */
function switchedMidRotation(bundle: string | undefined, nextPem: string, secret: string): Extract<RotationStep, { kind: 'blocked' }> | undefined {
  const held = pemBlocks(bundle);
  if (held.length < 2 || splitBundle(bundle).includes(splitBundle(nextPem)[0] ?? '')) return undefined;
  const name = (pem: string) => parseCertificate(pem)?.subject.replaceAll('\n', ', ') ?? 'unreadable';
  const message =
    `Secret ${secret} now holds a CA (${name(nextPem)}) that members do not trust, while a rotation between the CAs they trust (${held.map(name).join(' and ')}) is under way: ` +
    'put back one of those two CAs and let the rotation finish (or go back), then change the CA again; the rotation waits and nothing is issued';
  return { kind: 'blocked', problem: { reason: 'CARotationBlocked', message } };
}

/** An explicit request (a new rotate-ca token) or a CA about to expire starts a rotation of the operator's CA. */
function rotationStart(observed: ObservedPki, inputs: PkiInputs, ca: CaFacts, soon: boolean): RotationPlan | undefined {
  if (inputs.caSecretRef || !inputs.trustInUse) return undefined;
  const requested = inputs.rotateToken !== undefined && inputs.rotateToken !== recordedToken(observed.ca);
  if (!requested && !soon) return undefined;
  // A bundle of ours that holds more than this CA (a widening whose next CA was lost before it
  // ended) is put back to it by this pass's reissue (IssuerChanged) first: a rotation started
  // now would find that bundle trusting neither its old CA alone nor the overlap, and block.
  if (Object.values(observed.leaves).some((s) => s && ownedBy(s, inputs.ownerUid) && inspectLeaf(s)?.caPem?.trim() !== ca.certPem.trim())) return undefined;
  const token = requested ? inputs.rotateToken : recordedToken(observed.ca);
  const step = requested ? ({ kind: 'start', reason: 'Requested' } as const) : ({ kind: 'start', reason: 'CAExpiring', expiresAt: ca.notAfter } as const);
  return { step, oldPem: ca.certPem, nextPem: '', token };
}

export function planCertificates(observed: ObservedPki, inputs: PkiInputs, now: Date): CertificatePlan {
  const policyProblem = checkPolicy(inputs.policy);
  const rotating = policyProblem ? undefined : rotationUnderWay(observed, inputs, now);
  if (rotating) return rotating;
  const { decision, ca, problem } = decideCa(observed, inputs, now);
  const plan: CertificatePlan = { ca: decision, issue: [], problems: [] };
  if (policyProblem) plan.problems.push(policyProblem);
  if (problem) plan.problems.push(problem);
  if (policyProblem || decision.action === 'blocked') return { ...plan, ca: { ...decision, action: decision.action === 'issue' ? 'blocked' : decision.action } };

  const soon = ca !== undefined && expiringSoon(ca, inputs.policy, now);
  const start = ca && decision.action === 'keep' ? rotationStart(observed, inputs, ca, soon) : undefined;
  if (start && ca) {
    // An operator away past half the margin starts late: said at once.
    const late = rotationDeadline(ca.certPem, '', ourLeafFacts(observed, inputs.ownerUid), 'start', inputs.policy, now);
    return { ...plan, problems: late ? [late] : [], rotation: start };
  }
  if (soon) {
    const message = `the CA expires at ${ca.notAfter.toISOString()}, within renewBefore: replace it (leaf renewal is paused)`;
    plan.problems.push({ reason: 'CAExpiringSoon', message });
  } else if (ca) {
    // Leaves end with their CA, so one of theirs usually comes first; not when none is ours to renew.
    plan.nextRenewalAt = renewalTime(ca.notAfter, inputs.policy);
  }
  for (const profile of leafProfiles(inputs.cluster)) {
    const secret = observed.leaves[profile.kind];
    const issue = (reason: RenewalReason) => plan.issue.push({ kind: profile.kind, secretName: profile.secretName, reason });
    if (!secret) issue('Missing');
    else if (!ownedBy(secret, inputs.ownerUid)) plan.problems.push(notOwned(inputs.cluster, profile.secretName));
    else if (!ca) issue('IssuerChanged');
    else {
      const leaf = inspectLeaf(secret);
      const reason = renewalReason(leaf, profile, ca, inputs.policy, now);
      if (reason && !(reason === 'Expiring' && soon)) issue(reason);
      else if (leaf && !reason) plan.nextRenewalAt = earliest(plan.nextRenewalAt, renewalTime(leaf.notAfter, inputs.policy));
    }
  }
  return plan;
}

const earliest = (a: Date | undefined, b: Date) => (a === undefined || b < a ? b : a);

/** True when the plan writes nothing. */
export function planIsEmpty(plan: CertificatePlan): boolean {
  const rotationWrites = plan.rotation !== undefined && plan.rotation.step.kind !== 'awaitRoll' && plan.rotation.step.kind !== 'blocked';
  return plan.ca.action !== 'issue' && plan.issue.length === 0 && !rotationWrites && (plan.renew?.length ?? 0) === 0;
}
