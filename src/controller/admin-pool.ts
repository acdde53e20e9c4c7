import { EndpointMemory } from '../etcd/endpoint-memory.js';
import type { EtcdAdmin, EtcdTls } from '../etcd/types.js';
import type { MemberEndpoint } from './observe-kube.js';

export type AdminFactory = (endpoints: MemberEndpoint[], tls: EtcdTls, memory: EndpointMemory) => EtcdAdmin;

/**
 * One etcd client per cluster, kept across passes so a quiet pass reuses its connections instead
 * of dialing every member again. Replaced when the endpoints or the credentials change; what it
 * learned of members that hang stays with the cluster, so a new client does not wait on them again.
 */
export class AdminPool {
  private readonly clients = new Map<string, { signature: string; admin: EtcdAdmin; memory: EndpointMemory }>();

  constructor(private readonly factory: AdminFactory) {}

  get(key: string, endpoints: MemberEndpoint[], tls: EtcdTls): EtcdAdmin {
    const signature = JSON.stringify([endpoints, tls.certPem, tls.caPem]);
    const existing = this.clients.get(key);
    if (existing?.signature === signature) return existing.admin;
    existing?.admin.close();
    const memory = existing?.memory ?? new EndpointMemory();
    memory.retain(endpoints.map((e) => e.url));
    const admin = this.factory(endpoints, tls, memory);
    this.clients.set(key, { signature, admin, memory });
    return admin;
  }

  drop(key: string): void {
    this.clients.get(key)?.admin.close();
    this.clients.delete(key);
  }

  closeAll(): void {
    for (const key of [...this.clients.keys()]) this.drop(key);
  }
}
