import { EndpointMemory } from '../etcd/endpoint-memory.js';
import type { EtcdAdmin, EtcdTls } from '../etcd/types.js';
import type { MemberEndpoint } from './observe-kube.js';

export type AdminFactory = (endpoints: MemberEndpoint[], tls: EtcdTls, memory: EndpointMemory) => EtcdAdmin;

/**
 * One etcd client per cluster, kept across passes while the cluster acts so its passes reuse their
 * connections instead of dialing every member again (client-lifetime.ts says how long). Replaced
 * when the endpoints or the credentials change; what it learned of members that hang stays with
 * the cluster, so a new client does not wait on them again.
 */
export class AdminPool {
  /** A released cluster keeps its memory but not its closed client, so V8 can collect that. */
  private readonly clients = new Map<string, { signature: string; admin?: EtcdAdmin; memory: EndpointMemory }>();

  constructor(private readonly factory: AdminFactory) {}

  get(key: string, endpoints: MemberEndpoint[], tls: EtcdTls): EtcdAdmin {
    const signature = JSON.stringify([endpoints, tls.certPem, tls.caPem]);
    const existing = this.clients.get(key);
    if (existing?.admin && existing.signature === signature) return existing.admin;
    existing?.admin?.close();
    const memory = existing?.memory ?? new EndpointMemory();
    memory.retain(endpoints.map((e) => e.url));
    const admin = this.factory(endpoints, tls, memory);
    this.clients.set(key, { signature, admin, memory });
    return admin;
  }

  /**
   * Closes the cluster's client, keeping what it learned of its members; the next `get` dials
   * again (client-lifetime.ts says when).
   */
  release(key: string): void {
    const existing = this.clients.get(key);
    if (!existing?.admin) return;
    existing.admin.close();
    this.clients.set(key, { signature: '', memory: existing.memory });
  }

  drop(key: string): void {
    this.release(key);
    this.clients.delete(key);
  }

  closeAll(): void {
    for (const key of [...this.clients.keys()]) this.drop(key);
  }
}
