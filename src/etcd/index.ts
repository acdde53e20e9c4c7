// The etcd admin client: one narrow interface over etcd's Cluster and Maintenance APIs.
export { createEtcdAdmin, EtcdAdminClient } from './client.js';
export { EtcdAdminError, type EtcdAdminErrorKind } from './errors.js';
export type {
  EndpointHealth,
  EndpointProbe,
  EndpointStatus,
  EtcdAdmin,
  EtcdAdminOptions,
  EtcdMember,
  EtcdTls,
  LeaderMove,
  MemberAdded,
  MemberList,
} from './types.js';
