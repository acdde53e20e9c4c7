import { request } from 'node:https';
import { EtcdAdminError } from './errors.js';
import type { EtcdAdminOptions, MemberVersions } from './types.js';

type Access = Pick<EtcdAdminOptions, 'tls' | 'serverNames'>;

/** One JSON request over a member's client port (mutual TLS). */
function getJson(endpoint: string, path: string, access: Access, timeoutMs: number, body?: string): Promise<Record<string, unknown>> {
  const fail = (detail: string) => new EtcdAdminError({ kind: 'Unavailable', op: 'versions', endpoint, detail: `${path}: ${detail}` });
  return new Promise((resolve, reject) => {
    const servername = access.serverNames?.[endpoint];
    const tls = { ca: access.tls.caPem, cert: access.tls.certPem, key: access.tls.keyPem, ...(servername ? { servername, checkServerIdentity: () => undefined } : {}) };
    const req = request(new URL(path, endpoint), { ...tls, method: body === undefined ? 'GET' : 'POST', timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
          resolve(JSON.parse(text) as Record<string, unknown>);
        } catch (err) {
          reject(fail(err instanceof Error ? err.message : String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(fail(err.message)));
    req.end(body);
  });
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A member's versions and the downgrade it knows of. The gRPC Status of the etcd3 package predates
 * etcd 3.6 and drops `storageVersion` and `downgradeInfo`, and no gRPC call returns the cluster
 * version without side effects; `/version` and the JSON gateway's Status (on by default) give them.
 */
export async function fetchVersions(endpoint: string, access: Access, timeoutMs: number): Promise<MemberVersions> {
  const [version, status] = await Promise.all([getJson(endpoint, '/version', access, timeoutMs), getJson(endpoint, '/v3/maintenance/status', access, timeoutMs, '{}')]);
  const [server, cluster] = [text(version.etcdserver), text(version.etcdcluster)];
  if (!server || !cluster) throw new EtcdAdminError({ kind: 'Unavailable', op: 'versions', endpoint, detail: `/version: ${JSON.stringify(version).slice(0, 200)}` });
  const storage = text(status.storageVersion);
  const info = status.downgradeInfo as { enabled?: boolean; targetVersion?: string } | undefined;
  const downgradeTarget = info?.enabled ? text(info.targetVersion) : undefined;
  return { server, cluster, ...(storage ? { storage } : {}), ...(downgradeTarget ? { downgradeTarget } : {}) };
}
