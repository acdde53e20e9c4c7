/**
 * Builders for a restore: a member's claim, made under the name the StatefulSet will adopt, and
 * the pod that seeds it. Pure.
 *
 * The pod runs three steps on the volume, none of them in the member pod (the etcd image has no
 * shell, and the member template must not change after a restore or every member would roll):
 * 1. `fetch` (the operator's image): download the object, check its SHA-256 and version, write
 *    the database with its trailing digest so etcdutl checks it once more.
 * 2. `restore` (the target etcd image): `etcdutl snapshot restore` into a staging directory, with
 *    this member's name, the initial cluster, its peer URL and the cluster token etcd will run with.
 * 3. `install` (the operator's image): rename the staging directory to the member's data
 *    directory, unless one is there already. A rename is atomic, so a data directory present is a
 *    complete one, and a pod run again never touches it.
 */
import type { V1Container, V1EnvVar, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { initialClusterToken, paths } from '../resources/etcd-args.js';
import { initialClusterValue } from '../resources/membership-config.js';
import { type ClusterRef, annotationKeys, labelKeys, memberPeerUrl, memberSelector, names, restorePodLabels } from '../resources/names.js';
import { childMetadata, clusterRef, ownerReference } from '../resources/owner.js';
import { etcdImage } from '../resources/pod-template.js';
import type { FetchSpec } from './source.js';

/** Where a restore pod works on the volume: beside the member's data directory, never in it. */
export const restorePaths = {
  volume: paths.data,
  dataDir: `${paths.data}/data`,
  workDir: `${paths.data}/restore`,
  snapshot: `${paths.data}/restore/snapshot.db`,
  staging: `${paths.data}/restore/staging`,
} as const;

/** Environment the fetch step reads its credentials and CA from. */
export const fetchEnv = { accessKeyId: 'RESTORE_ACCESS_KEY_ID', secretAccessKey: 'RESTORE_SECRET_ACCESS_KEY', caPem: 'RESTORE_CA_PEM' } as const;

const restoreEntry = '/app/dist/restore.js';

/**
 * The claim the StatefulSet's `data` template would create for an ordinal, marked as this
 * restore's. Owned as the retention policy owns the template's claims: with Retain by nobody (the
 * volume outlives the cluster); with Delete by the cluster, so that a cluster deleted before its
 * StatefulSet exists (a restore that failed) takes them. Not as controller: the StatefulSet
 * controller, adopting the claim by its name, adds its own reference as to the claims it makes
 * (test/integration/restore-claims.test.ts).
 */
export function buildRestoreClaim(cluster: EtcdCluster, ordinal: number, retries = 0, retryPending = false): V1PersistentVolumeClaim {
  const ref = clusterRef(cluster);
  const storage = cluster.spec.storage;
  const owner = storage.retentionPolicy === 'Delete' ? { ownerReferences: [{ ...ownerReference(cluster), controller: false, blockOwnerDeletion: false }] } : {};
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: names.dataVolumeClaim(ref, ordinal),
      namespace: ref.namespace,
      // As the claim template labels its claims.
      labels: { ...memberSelector(ref), [labelKeys.managedBy]: 'etcd-operator' },
      annotations: {
        [annotationKeys.restoreFor]: cluster.metadata.uid!,
        ...(retries > 0 ? { [annotationKeys.restoreRetries]: String(retries) } : {}),
        ...(retryPending ? { [annotationKeys.restoreRetryPending]: 'true' } : {}),
      },
      ...owner,
    },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: storage.storageClassName, resources: { requests: { storage: storage.size } } },
  };
}

function fetchEnvVars(fetch: FetchSpec): V1EnvVar[] {
  const d = fetch.destination;
  const secretKey = (name: string, key: string): V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: d.credentialsSecretRef.name, key } } });
  const env = [secretKey(fetchEnv.accessKeyId, 'accessKeyID'), secretKey(fetchEnv.secretAccessKey, 'secretAccessKey')];
  if (d.caBundle) env.push({ name: fetchEnv.caPem, value: d.caBundle });
  if (d.caSecretRef) env.push({ name: fetchEnv.caPem, valueFrom: { secretKeyRef: { name: d.caSecretRef.name, key: d.caSecretRef.key } } });
  return env;
}

export function fetchArgs(fetch: FetchSpec, targetVersion: string): string[] {
  const d = fetch.destination;
  return [
    'fetch',
    `--endpoint=${d.endpoint}`,
    `--bucket=${d.bucket}`,
    `--key=${fetch.key}`,
    `--region=${d.region ?? 'us-east-1'}`,
    `--force-path-style=${d.forcePathStyle !== false}`,
    `--target-version=${targetVersion}`,
    `--volume=${restorePaths.volume}`,
    ...(fetch.compression ? [`--compression=${fetch.compression}`] : []),
    ...(fetch.sha256 ? [`--sha256=${fetch.sha256}`] : []),
    ...(fetch.snapshotSha256 ? [`--snapshot-sha256=${fetch.snapshotSha256}`] : []),
  ];
}

/** The etcdutl invocation for one member: what etcd will find in its data directory. */
export function etcdutlArgs(cluster: EtcdCluster, ref: ClusterRef, ordinal: number, domain: string): string[] {
  return [
    'snapshot',
    'restore',
    restorePaths.snapshot,
    `--data-dir=${restorePaths.staging}`,
    `--name=${names.member(ref, ordinal)}`,
    `--initial-cluster=${initialClusterValue(ref, Array.from({ length: cluster.spec.replicas }, (_, i) => i))}`,
    `--initial-cluster-token=${initialClusterToken(cluster, ref)}`,
    `--initial-advertise-peer-urls=${memberPeerUrl(ref, ordinal, domain)}`,
  ];
}

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

const volumeMounts = [{ name: 'data', mountPath: restorePaths.volume }];

function step(name: string, image: string, command: string[], args: string[], env?: V1EnvVar[]): V1Container {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    command,
    args,
    env,
    // The operator reads why a step failed from here; etcdutl's own error is the end of its log.
    terminationMessagePolicy: 'FallbackToLogsOnError',
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
    securityContext: restricted,
    volumeMounts,
  };
}

export interface RestorePodInput {
  cluster: EtcdCluster;
  ordinal: number;
  fetch: FetchSpec;
  domain: string;
  /** The operator's image: it runs the fetch and install steps. */
  operatorImage: string;
  /** Which retry this run is, recorded on the pod: the count its failure is judged by. */
  retries?: number;
}

export function buildRestorePod(i: RestorePodInput): V1Pod {
  const ref = clusterRef(i.cluster);
  const user = i.cluster.spec.podTemplate ?? {};
  const node = ['/nodejs/bin/node', restoreEntry];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...childMetadata(i.cluster, names.restorePod(ref, i.ordinal), restorePodLabels(ref)),
      // Always written, 0 included: a pod without it was made by an operator that counted on the claim.
      annotations: { [annotationKeys.restoreRetries]: String(i.retries ?? 0) },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // The member pods' user and group, so etcd can later open what etcdutl wrote.
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      // Where members may run, since a local volume binds where its first pod runs.
      affinity: user.affinity,
      nodeSelector: user.nodeSelector,
      tolerations: user.tolerations,
      priorityClassName: user.priorityClassName,
      initContainers: [
        step('fetch', i.operatorImage, node, fetchArgs(i.fetch, i.cluster.spec.version), fetchEnvVars(i.fetch)),
        step('restore', etcdImage(i.cluster), ['etcdutl'], etcdutlArgs(i.cluster, ref, i.ordinal, i.domain)),
      ],
      containers: [step('install', i.operatorImage, node, ['install', `--volume=${restorePaths.volume}`])],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: names.dataVolumeClaim(ref, i.ordinal) } }],
    },
  };
}
