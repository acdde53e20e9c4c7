/**
 * Events that describe a lasting state (a certificate problem, a paused cluster) are sent when the
 * state appears and again only every `repeatMs` while it lasts, never once per pass: a quiet pass
 * writes nothing. Kubernetes' own recorder folds repeats into one Event by counting; here a repeat
 * sends nothing at all. The memory is the process's: after a restart each lasting state is sent
 * once more, which is the right amount of noise for a new operator.
 */
import { conditionReasons as R } from '../api/conditions.js';
import { type EtcdView, type RefusedEndpoint, describeRefusal } from './observe-etcd.js';

export interface Notice {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /**
   * What makes two notices one lasting state, where the message follows its progress (NOSPACE:
   * "the operator compacts" then "delete keys" is still one alarm). Default: the message.
   */
  key?: string;
  /** Sent only once the state has lasted this long (a moment of it is no failure). Default 0. */
  afterMs?: number;
}

const keyOf = (n: Notice) => `${n.type}\u0000${n.reason}\u0000${n.key ?? n.message}`;

export class NoticeMemo {
  private readonly sent = new Map<string, Map<string, number>>();
  /** When each current state was first seen, for `afterMs`. */
  private readonly since = new Map<string, Map<string, number>>();

  constructor(private readonly repeatMs = 30 * 60_000) {}

  /**
   * The notices of `cluster` to send now. States no longer current are forgotten, so one that
   * comes back is sent again at once; unless `partial`: a pass that failed part way did not
   * observe every state, and one it did not see has not gone away.
   */
  due(cluster: string, current: Notice[], now: number, partial = false): Notice[] {
    const sent = this.sent.get(cluster) ?? new Map<string, number>();
    const since = this.since.get(cluster) ?? new Map<string, number>();
    const keys = new Set(current.map(keyOf));
    if (!partial) for (const memory of [sent, since]) for (const key of memory.keys()) if (!keys.has(key)) memory.delete(key);
    for (const key of keys) if (!since.has(key)) since.set(key, now);
    this.sent.set(cluster, sent);
    this.since.set(cluster, since);
    return current.filter((n) => {
      if (now - since.get(keyOf(n))! < (n.afterMs ?? 0)) return false;
      const at = sent.get(keyOf(n));
      return at === undefined || now - at >= this.repeatMs;
    });
  }

  /** Called once a notice was really sent: a failed send is tried again on the next pass. */
  record(cluster: string, notice: Notice, now: number): void {
    const sent = this.sent.get(cluster) ?? new Map<string, number>();
    sent.set(keyOf(notice), now);
    this.sent.set(cluster, sent);
  }

  forget(cluster: string): void {
    this.sent.delete(cluster);
    this.since.delete(cluster);
  }
}

/**
 * How long a certificate refusal lasts before it is a Warning: a member restarting onto a new
 * certificate during a CA rotation is refused for a pass or two at most, never for 30 s.
 */
export const lastingRefusalMs = 30_000;

/**
 * A Warning per member (or, when no member answered, per endpoint) whose handshake with the
 * operator failed on a certificate, once it has lasted lastingRefusalMs: status shows it from the
 * first pass (Degraded, MemberCertificateRefused), and a person must act (a certificate that
 * expired, or was signed by another CA). Pure.
 */
export function refusalNotices(etcd: EtcdView | undefined, refused: RefusedEndpoint[] | undefined): Notice[] {
  const notice = (who: string, why: string, key: string): Notice => ({ type: 'Warning', reason: R.memberCertificateRefused, message: `${who}: ${why}`, key, afterMs: lastingRefusalMs });
  if (etcd) return etcd.members.filter((m) => m.started && m.certificate).map((m) => notice(m.name, m.problem ?? describeRefusal(m.certificate!), m.name));
  // Named as the status names them (the pod's name); told apart by the whole address.
  return (refused ?? []).map((r) => notice(r.host.split('.')[0] ?? r.host, describeRefusal(r.certificate), r.endpoint));
}
