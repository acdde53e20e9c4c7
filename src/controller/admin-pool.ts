import type { EtcdAdmin, EtcdTls } from '../etcd/types.js';
import type { MemberEndpoint } from './observe-kube.js';

export type AdminFactory = (endpoints: MemberEndpoint[], tls: EtcdTls) => EtcdAdmin;

/**
 * One etcd client per cluster, kept across passes so a quiet pass reuses its connections instead
 * of dialing every member again. Replaced when the endpoints or the credentials change.
 */
export class AdminPool {
  private readonly clients = new Map<string, { signature: string; admin: EtcdAdmin }>();

  constructor(private readonly factory: AdminFactory) {}

  get(key: string, endpoints: MemberEndpoint[], tls: EtcdTls): EtcdAdmin {
    const signature = JSON.stringify([endpoints, tls.certPem, tls.caPem]);
    const existing = this.clients.get(key);
    if (existing?.signature === signature) return existing.admin;
    existing?.admin.close();
    const admin = this.factory(endpoints, tls);
    this.clients.set(key, { signature, admin });
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
