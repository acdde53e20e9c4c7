/**
 * Events that describe a lasting state (a certificate problem, a paused cluster) are sent when the
 * state appears and again only every `repeatMs` while it lasts, never once per pass: a quiet pass
 * writes nothing. Kubernetes' own recorder folds repeats into one Event by counting; here a repeat
 * sends nothing at all. The memory is the process's: after a restart each lasting state is sent
 * once more, which is the right amount of noise for a new operator.
 */

export interface Notice {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /**
   * What makes two notices one lasting state, where the message follows its progress (NOSPACE:
   * "the operator compacts" then "delete keys" is still one alarm). Default: the message.
   */
  key?: string;
}

const keyOf = (n: Notice) => `${n.type}\u0000${n.reason}\u0000${n.key ?? n.message}`;

export class NoticeMemo {
  private readonly sent = new Map<string, Map<string, number>>();

  constructor(private readonly repeatMs = 30 * 60_000) {}

  /**
   * The notices of `cluster` to send now. States no longer current are forgotten, so one that
   * comes back is sent again at once; unless `partial`: a pass that failed part way did not
   * observe every state, and one it did not see has not gone away.
   */
  due(cluster: string, current: Notice[], now: number, partial = false): Notice[] {
    const sent = this.sent.get(cluster) ?? new Map<string, number>();
    const keys = new Set(current.map(keyOf));
    if (!partial) for (const key of sent.keys()) if (!keys.has(key)) sent.delete(key);
    this.sent.set(cluster, sent);
    return current.filter((n) => {
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
  }
}
