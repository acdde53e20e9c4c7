import { openSync, closeSync, ftruncateSync, writeSync, writeFileSync, existsSync } from 'node:fs';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';

export type Pod = Wire<V1Pod>;
export type Service = Wire<V1Service>;

export interface HostsEntry {
  ip: string;
  names: string[];
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The headless Service that publishes a pod's records: named by its subdomain and selecting it. */
function publishingService(pod: Pod, services: readonly Service[]): Service | undefined {
  return services.find(
    (s) =>
      s.metadata?.namespace === pod.metadata?.namespace &&
      s.metadata?.name === pod.spec?.subdomain &&
      s.spec?.clusterIP === 'None' &&
      selects(s.spec.selector, pod.metadata?.labels),
  );
}

/**
 * The records cluster DNS would serve for headless Services: `<hostname>.<subdomain>.<ns>.svc.<domain>`
 * for each selected pod with an address, and the Service's own name for all of them. Not-ready
 * pods count only when the Service publishes not-ready addresses, as with real endpoints. The
 * search-list forms are listed too, because a hosts file is matched by exact name.
 */
export function dnsEntries(pods: readonly Pod[], services: readonly Service[], domain: string): HostsEntry[] {
  const entries: HostsEntry[] = [];
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    const { hostname, subdomain } = pod.spec ?? {};
    if (!ip || !hostname || !subdomain || isTerminal(pod)) continue;
    const svc = publishingService(pod, services);
    if (!svc || !(svc.spec?.publishNotReadyAddresses || isReady(pod))) continue;
    const ns = pod.metadata?.namespace ?? 'default';
    const short = `${hostname}.${subdomain}`;
    entries.push({ ip, names: [`${short}.${ns}.svc.${domain}`, `${short}.${ns}.svc`, `${short}.${ns}`, short] });
    entries.push({ ip, names: [`${subdomain}.${ns}.svc.${domain}`] });
  }
  return entries.sort((a, b) => (a.names[0]! < b.names[0]! ? -1 : a.names[0]! > b.names[0]! ? 1 : a.ip.localeCompare(b.ip)));
}

export function renderHosts(entries: readonly HostsEntry[]): string {
  const lines = [
    '# Written by the local node agent: cluster DNS for headless Services.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...entries.map((e) => `${e.ip}\t${e.names.join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * One hosts file bind-mounted at every container's /etc/hosts. It is rewritten in place, same
 * inode, because a bind mount pins the inode: a rename would leave running pods on the old file.
 */
export class HostsFile {
  private content = '';

  constructor(readonly path: string) {
    if (!existsSync(path)) writeFileSync(path, renderHosts([]), { mode: 0o644 });
  }

  update(content: string): boolean {
    if (content === this.content) return false;
    const fd = openSync(this.path, 'r+');
    try {
      const bytes = Buffer.from(content);
      // Write first, then cut the tail, so a reader never sees an empty file.
      writeSync(fd, bytes, 0, bytes.length, 0);
      ftruncateSync(fd, bytes.length);
    } finally {
      closeSync(fd);
    }
    this.content = content;
    return true;
  }
}
