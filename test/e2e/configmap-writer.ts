import { Agent, request } from 'node:https';

/** What one phase of a test did to the API server's clients. */
export interface PhaseCounts {
  phase: string;
  seconds: number;
  requests: number;
  acknowledged: number;
  /** Answers 500-599: the API server could not reach or use its etcd. */
  http5xx: number;
  /** Other answers that were not 2xx (a 4xx such as 429, or a 409 on a create whose earlier try landed). */
  httpOther: number;
  /** No answer: connection refused or reset, or no answer within the client's deadline. */
  noAnswer: number;
  /** The longest time between two acknowledged writes while the phase ran. */
  longestStallMs: number;
}

/** An object as the writer knows it: the last acknowledged content and what may have landed after. */
interface Tracked {
  ackedSeq: number;
  ackedRv: bigint;
  /** Writes that got no clear answer: each may or may not have been applied. */
  unknown: Set<number>;
}

export interface VerifyReport {
  acknowledgedObjects: number;
  present: number;
  /** Acknowledged objects missing from a list through the API server. */
  lost: string[];
  /** Objects whose content is neither the last acknowledged one nor one sent after it, or whose resourceVersion went back. */
  stale: string[];
}

interface Answer {
  status: number;
  body: string;
}

/**
 * A client of a Kubernetes API server that creates and updates ConfigMaps continuously, one request
 * at a time per worker, as controllers do, and remembers every acknowledged write with its
 * resourceVersion, so that a test can check at the end that none was lost.
 */
export class ConfigMapWriter {
  private readonly agent: Agent;
  private readonly objects = new Map<string, Tracked>();
  private readonly phases: PhaseCounts[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private lastAckAt = 0;
  private acked = 0;
  private phaseStartedAt = 0;

  constructor(
    private readonly o: { server: string; tls: { ca: string; cert: string; key: string }; namespace?: string; workers?: number; timeoutMs?: number },
  ) {
    this.agent = new Agent({ ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key, keepAlive: true, maxSockets: 4 });
  }

  private get namespace(): string {
    return this.o.namespace ?? 'default';
  }

  /** Counts from now on go to `name`; the stall clock carries over, so an outage spanning phases shows in both. */
  phase(name: string): void {
    this.closePhase();
    this.phaseStartedAt = Date.now();
    this.phases.push({ phase: name, seconds: 0, requests: 0, acknowledged: 0, http5xx: 0, httpOther: 0, noAnswer: 0, longestStallMs: 0 });
  }

  acknowledged(): number {
    return this.acked;
  }

  start(): void {
    if (this.phases.length === 0) this.phase('start');
    this.running = true;
    this.lastAckAt = Date.now();
    const workers = this.o.workers ?? 2;
    this.loops = Array.from({ length: workers }, (_, w) => this.run(w));
  }

  async stop(): Promise<PhaseCounts[]> {
    this.running = false;
    await Promise.all(this.loops);
    this.closePhase();
    return this.phases.map((p) => ({ ...p }));
  }

  private closePhase(): void {
    const p = this.phases.at(-1);
    if (p) p.seconds = (Date.now() - this.phaseStartedAt) / 1000;
  }

  private send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
    const url = new URL(path, this.o.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, timeout: this.o.timeoutMs ?? 10_000, headers: payload ? { 'content-type': contentType } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async run(worker: number): Promise<void> {
    let n = 0;
    const mine: string[] = [];
    while (this.running) {
      // Every other write creates an object, the rest update one this worker made: objects grow
      // steadily and each also sees several updates.
      const create = n % 2 === 0 || mine.length === 0;
      const name = create ? `cm-${worker}-${String(n).padStart(6, '0')}` : mine[(n * 7919) % mine.length]!;
      n++;
      const seq = ++this.seq;
      const data = { seq: String(seq), at: new Date().toISOString() };
      const base = `/api/v1/namespaces/${this.namespace}/configmaps`;
      const answer = create
        ? this.send('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data })
        : this.send('PATCH', `${base}/${name}`, { data }, 'application/merge-patch+json');
      const p = this.phases.at(-1)!;
      p.requests++;
      try {
        const a = await answer;
        if (a.status >= 200 && a.status < 300) {
          this.ack(p, name, seq, BigInt((JSON.parse(a.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion));
          if (create) mine.push(name);
        } else {
          if (a.status >= 500) p.http5xx++;
          else p.httpOther++;
          // A 5xx may come after etcd applied the write (a timeout waiting for the commit).
          if (a.status >= 500) this.maybe(name, seq);
        }
      } catch {
        p.noAnswer++;
        this.maybe(name, seq);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** `p`: the phase the request was sent in. */
  private ack(p: PhaseCounts, name: string, seq: number, rv: bigint): void {
    const now = Date.now();
    p.acknowledged++;
    p.longestStallMs = Math.max(p.longestStallMs, now - this.lastAckAt);
    this.lastAckAt = now;
    this.acked++;
    const t = this.objects.get(name);
    // Only one worker writes an object, but a write without an answer may still land later: its
    // content stays an allowed outcome.
    this.objects.set(name, { ackedSeq: seq, ackedRv: rv, unknown: t?.unknown ?? new Set() });
  }

  private maybe(name: string, seq: number): void {
    this.objects.get(name)?.unknown.add(seq);
  }

  /** Lists every ConfigMap through the API server and checks each acknowledged one. */
  async verify(): Promise<VerifyReport> {
    const listed = new Map<string, { seq: number; rv: bigint }>();
    let token = '';
    do {
      const a = await this.send('GET', `/api/v1/namespaces/${this.namespace}/configmaps?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      if (a.status !== 200) throw new Error(`list configmaps: ${a.status} ${a.body}`);
      const list = JSON.parse(a.body) as { metadata: { continue?: string }; items: { metadata: { name: string; resourceVersion: string }; data?: { seq?: string } }[] };
      for (const i of list.items) listed.set(i.metadata.name, { seq: Number(i.data?.seq ?? -1), rv: BigInt(i.metadata.resourceVersion) });
      token = list.metadata.continue ?? '';
    } while (token);
    const lost: string[] = [];
    const stale: string[] = [];
    for (const [name, t] of this.objects) {
      const found = listed.get(name);
      if (!found) lost.push(name);
      else if (found.rv < t.ackedRv || (found.seq !== t.ackedSeq && !t.unknown.has(found.seq))) stale.push(`${name}: seq ${found.seq} rv ${found.rv}, acknowledged seq ${t.ackedSeq} rv ${t.ackedRv}`);
    }
    return { acknowledgedObjects: this.objects.size, present: this.objects.size - lost.length, lost, stale };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The per-phase counts as a fixed-width table for the test log. */
export function phaseTable(rows: PhaseCounts[]): string {
  const head = ['phase', 'seconds', 'requests', 'acked', '5xx', 'other', 'no answer', 'longest stall ms'];
  const cells = rows.map((r) => [r.phase, r.seconds.toFixed(1), r.requests, r.acknowledged, r.http5xx, r.httpOther, r.noAnswer, r.longestStallMs].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}
