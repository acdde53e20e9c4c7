import type { V1Affinity, V1Container, V1PodTemplateSpec, V1ResourceRequirements, V1SecurityContext, V1Volume } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { etcdArgs, env, memberPeerUrlExpression, paths } from './etcd-args.js';
import { membershipKeys } from './membership-config.js';
import { type ClusterRef, annotationKeys, labelKeys, memberSelector, names, ports } from './names.js';
import { memberProbes } from './probes.js';

/** The image of an etcd release unless the spec names one. */
export function etcdImage(cluster: EtcdCluster): string {
  return cluster.spec.image ?? `gcr.io/etcd-development/etcd:v${cluster.spec.version}`;
}

/** Distroless etcd images run as this user; the volume is made writable for its group. */
const etcdUser = 65532;

/** Members prefer different nodes: losing one node should cost at most one member. */
function defaultAffinity(ref: ClusterRef): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: memberSelector(ref) } } },
      ],
    },
  };
}

function volumes(cluster: EtcdCluster, ref: ClusterRef): V1Volume[] {
  const list: V1Volume[] = [
    { name: 'server-tls', secret: { secretName: names.serverSecret(ref), defaultMode: 0o400 } },
    { name: 'peer-tls', secret: { secretName: names.peerSecret(ref), defaultMode: 0o400 } },
  ];
  if (cluster.spec.storage.type === 'EmptyDir') list.push({ name: 'data', emptyDir: { sizeLimit: cluster.spec.storage.size } });
  return list;
}

function configMapEnv(name: string, ref: ClusterRef, key: string) {
  return { name, valueFrom: { configMapKeyRef: { name: names.membershipConfig(ref), key } } };
}

/** Both containers see the pod's name and address and the membership a member starting empty announces. */
function memberEnv(ref: ClusterRef) {
  return [
    { name: env.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: env.podIP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    configMapEnv(env.initialCluster, ref, membershipKeys.initialCluster),
    configMapEnv(env.initialClusterState, ref, membershipKeys.initialClusterState),
  ];
}

/**
 * What the etcd container needs to refuse an emptied data directory (empty-data-refusal.ts): the
 * pod's annotation as env, read again at every container start, and etcd's last words in the
 * termination message, where the operator finds the refusal.
 */
function emptyDataRefusalFields(ref: ClusterRef): Pick<V1Container, 'env' | 'terminationMessagePolicy'> {
  return {
    env: [...memberEnv(ref), { name: env.emptyDataRefusal, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${annotationKeys.emptyDataRefusal}']` } } }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

const restrictedContainer: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Name of the init container that guards the member's identity; status and tests find it by name. */
export const memberInitContainer = 'member-init';
/** The member pod's etcd container. */
export const etcdContainerName = 'etcd';

/**
 * The start guard (src/member-init): before etcd runs, it checks the volume against the
 * membership etcd reports and waits while the volume is empty but the member it would become
 * already ran. It lives in the pod, so no operator outage, pause or backoff can skip it.
 */
function memberInit(ref: ClusterRef, domain: string, image: string): V1Container {
  return {
    name: memberInitContainer,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['/nodejs/bin/node', '/app/dist/member-init.js'],
    args: [
      `--data-dir=${paths.data}/data`,
      `--peer-url=${memberPeerUrlExpression(ref, domain)}`,
      `--initial-cluster=$(${env.initialCluster})`,
      `--initial-cluster-state=$(${env.initialClusterState})`,
      `--tls-dir=${paths.peerTls}`,
    ],
    env: memberEnv(ref),
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: restrictedContainer,
    volumeMounts: [
      // Writable: the guard discards a removed member's log (src/member-init/decide.ts) and
      // writes nothing else. Read-only before, the discard failed ("Read-only file system") and
      // the pod never started.
      { name: 'data', mountPath: paths.data },
      { name: 'peer-tls', mountPath: paths.peerTls, readOnly: true },
    ],
  };
}

/** Pod annotation holding a hash of the CA bundle members trust: a new CA changes the template. */
export const trustBundleAnnotation = 'etcd.operator.dev/trust-bundle-hash';

/**
 * The member pod: etcd as kubeadm runs it, with a restricted security context, behind the start
 * guard. The user's podTemplate adds labels and annotations and replaces scheduling fields it
 * sets; it can never change the selector labels.
 */
export function buildPodTemplate(cluster: EtcdCluster, ref: ClusterRef, domain: string, trustBundleHash: string, initImage: string, refuseEmptyData = true): V1PodTemplateSpec {
  const user = cluster.spec.podTemplate ?? {};
  const labels: Record<string, string> = { ...(user.metadata?.labels), ...memberSelector(ref), [labelKeys.managedBy]: 'etcd-operator' };
  return {
    // etcd reads its trusted CA only at start, so a new CA must restart members (one at a time).
    metadata: { labels, annotations: { ...user.metadata?.annotations, [trustBundleAnnotation]: trustBundleHash } },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 30,
      securityContext: { runAsNonRoot: true, runAsUser: etcdUser, runAsGroup: etcdUser, fsGroup: etcdUser, seccompProfile: { type: 'RuntimeDefault' } },
      affinity: user.affinity ?? defaultAffinity(ref),
      nodeSelector: user.nodeSelector,
      tolerations: user.tolerations,
      topologySpreadConstraints: user.topologySpreadConstraints,
      priorityClassName: user.priorityClassName,
      initContainers: [memberInit(ref, domain, initImage)],
      containers: [
        {
          name: etcdContainerName,
          image: etcdImage(cluster),
          imagePullPolicy: 'IfNotPresent',
          command: ['etcd'],
          args: etcdArgs(cluster, ref, domain, refuseEmptyData),
          ...(refuseEmptyData ? emptyDataRefusalFields(ref) : { env: memberEnv(ref) }),
          ports: [
            { name: 'client', containerPort: ports.client, protocol: 'TCP' },
            { name: 'peer', containerPort: ports.peer, protocol: 'TCP' },
            { name: 'metrics', containerPort: ports.metrics, protocol: 'TCP' },
          ],
          ...memberProbes(cluster.spec.version),
          resources: cluster.spec.resources as V1ResourceRequirements | undefined,
          securityContext: restrictedContainer,
          volumeMounts: [
            { name: 'data', mountPath: paths.data },
            { name: 'server-tls', mountPath: paths.serverTls, readOnly: true },
            { name: 'peer-tls', mountPath: paths.peerTls, readOnly: true },
          ],
        },
      ],
      volumes: volumes(cluster, ref),
    },
  };
}
