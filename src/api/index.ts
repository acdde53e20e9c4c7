/** The EtcdCluster API: what the controller and tools import. */
export * from './group.js';
export * from './conditions.js';
export * from './version.js';
export { withDefaults, specDefaults, type EtcdClusterSpecInput } from './defaults.js';
export { isOwnedFlag, ownedFlagGroups } from './options.js';
export { defaultEtcdVersion } from './schema-spec.js';
export { maxClusterNameLength } from './schema.js';
export { etcdClusterCrd } from './crd.js';
export type * from './types.generated.js';
