// The API server's audit log, which names the user of every request: the only server-side record
// that tells the operator's requests from the agent's, the controller manager's and the bench's.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  /** The body sent, for the requests the policy records at Request level (the operator's Events). */
  requestObject?: { reason?: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** The verbs that change something; everything else reads or watches. */
export const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * A policy that records the operator's requests, the bench's own writes to EtcdClusters (the
 * start of event-to-action) and pod status reports, at Metadata level, and nothing else, to keep
 * the log and its cost small. The operator's Events also at Request level: their reason tells a
 * membership change (MemberAdded) from the other steps of a pass that write an Event.
 */
export function writeAuditPolicy(dir: string, operatorUsers: string | string[]): string {
  const path = join(dir, 'audit-policy.json');
  const policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'Request', users: typeof operatorUsers === 'string' ? [operatorUsers] : operatorUsers, verbs: ['create'], resources: [{ group: '', resources: ['events'] }] },
      { level: 'Metadata', users: typeof operatorUsers === 'string' ? [operatorUsers] : operatorUsers },
      { level: 'Metadata', verbs: [...writeVerbs], resources: [{ group: 'etcd.operator.dev', resources: ['etcdclusters'] }] },
      // The agent's pod status reports, so a timeline shows when each member started and was Ready.
      { level: 'Metadata', verbs: ['patch', 'update'], resources: [{ group: '', resources: ['pods/status'] }] },
      { level: 'None' },
    ],
  };
  writeFileSync(path, JSON.stringify(policy));
  return path;
}

export function auditArgs(policyPath: string, logPath: string): string[] {
  // Blocking mode: an event is in the file before the response is sent, so a read right after sees it.
  return [`--audit-policy-file=${policyPath}`, `--audit-log-path=${logPath}`, '--audit-log-format=json', '--audit-log-mode=blocking', '--audit-log-maxsize=0'];
}

/** Microseconds since the epoch from an RFC 3339 time with microseconds, as the audit log writes. */
export function micros(time: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  if (!match) throw new Error(`not an audit timestamp: ${time}`);
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '0').padEnd(6, '0').slice(0, 6));
}

export class AuditLog {
  constructor(readonly path: string) {}

  /** A position in the log; events after it are what happened since. */
  mark(): number {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** Requests recorded since `mark`, one per request (a watch has two stages), oldest first. */
  since(mark: number): AuditEvent[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path).subarray(mark).toString('utf8');
    const seen = new Map<string, AuditEvent>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as AuditEvent;
      if (!seen.has(e.auditID)) seen.set(e.auditID, e);
    }
    return [...seen.values()].sort((a, b) => micros(a.requestReceivedTimestamp) - micros(b.requestReceivedTimestamp));
  }
}

/** `verb resource[/subresource]` -> count, for the report's breakdown. */
export function breakdown(events: AuditEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const r = e.objectRef;
    const what = `${e.verb} ${r?.resource ?? '?'}${r?.subresource ? `/${r.subresource}` : ''}`;
    counts[what] = (counts[what] ?? 0) + 1;
  }
  return counts;
}
