/**
 * The operator's permissions, verb by verb: the one source of the manager rules that
 * deploy/overlays/cluster-wide (a ClusterRole), deploy/overlays/namespaced (a Role per watched
 * namespace) and the chart (a named template both of its modes include) grant. hack/api/generate.ts
 * writes the three copies; the drift test fails when one was edited by hand.
 */

export interface Rule {
  /** Why the operator needs it: written above the rule in the manifests. */
  why?: string;
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** What the reconciler does (src/controller, src/runtime, src/backup), in each watched namespace. */
export const managerRules: Rule[] = [
  { why: 'The root kind, read through an informer (list + watch; never a single get).', apiGroups: ['etcd.operator.dev'], resources: ['etcdclusters'], verbs: ['list', 'watch'] },
  { why: 'Status is rebuilt each pass and written as a merge patch of the status subresource.', apiGroups: ['etcd.operator.dev'], resources: ['etcdclusters/status'], verbs: ['patch'] },
  {
    why: 'Children carry an owner reference with blockOwnerDeletion; clusters that run the OwnerReferencesPermissionEnforcement admission plugin require this to set it.',
    apiGroups: ['etcd.operator.dev'],
    resources: ['etcdclusters/finalizers'],
    verbs: ['update'],
  },
  {
    why: "Backups, read through their own informer; their status is written as a merge patch. A cluster's schedule creates them, and its retention deletes the oldest. The destination's credentials and CA come from Secrets read with a live get (rule below). spec.restore reads the EtcdBackup it names with a live get.",
    apiGroups: ['etcd.operator.dev'],
    resources: ['etcdbackups'],
    verbs: ['get', 'list', 'watch', 'create', 'delete'],
  },
  { apiGroups: ['etcd.operator.dev'], resources: ['etcdbackups/status'], verbs: ['patch'] },
  {
    why: 'Children: watched by label, written with server-side apply (a PATCH that creates the object when it does not exist yet, which the API server authorizes as create).',
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['list', 'watch', 'create', 'patch'],
  },
  {
    why: 'A volume growth deletes the StatefulSet with orphan propagation (its pods keep running) to create it again with larger volumeClaimTemplates, which the API server forbids changing.',
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['delete'],
  },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['list', 'watch', 'create', 'patch'] },
  {
    why: "The operator's CA and member certificates (applied), and a user CA named by spec.tls.caSecretRef, read with a live get because the informer only sees the operator's own.",
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  {
    why: "Member pods are observed, and annotated (applied) with their refusal to start etcd on an emptied data directory; a pod whose etcd refused is deleted, as is an emptyDir member's pod to discard a removed member's data. spec.restore creates (applies) one restore pod per member, and the claims, before the StatefulSet.",
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    why: "A removed member's volume is deleted when stale; list and watch for the volume informer; patch to ask for a larger size when spec.storage.size grows.",
    apiGroups: [''],
    resources: ['persistentvolumeclaims'],
    verbs: ['list', 'watch', 'create', 'delete', 'patch'],
  },
  { why: 'Events on the EtcdCluster for membership changes and failures.', apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/**
 * spec.storage.size growth reads the claims' StorageClass (allowVolumeExpansion) with a live get:
 * cluster-scoped, so only cluster-wide installs grant it. Namespaced installs go without; the API
 * server's own admission then refuses a claim whose class cannot expand.
 */
export const storageClassRules: Rule[] = [{ apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] }];

const flow = (items: string[]) => `[${items.map((s) => (s === '' ? '""' : s)).join(', ')}]`;

/** Wraps a sentence into `#` comment lines of at most ~100 characters. */
function comment(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > 96) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(`${indent}# ${line}`);
  return lines;
}

/** The rules as a YAML sequence at `indent`, each with its reason above it. */
export function renderRules(rules: Rule[], indent: string, withReasons = true): string {
  const out: string[] = [];
  for (const rule of rules) {
    if (withReasons && rule.why) out.push(...comment(rule.why, indent));
    out.push(`${indent}- apiGroups: ${flow(rule.apiGroups)}`, `${indent}  resources: ${flow(rule.resources)}`, `${indent}  verbs: ${flow(rule.verbs)}`);
  }
  return out.join('\n') + '\n';
}

const generated = (what: string) => `# Generated by hack/api/generate.ts from hack/api/rbac.ts. Do not edit: change the rules there and\n# run \`npx tsx hack/api/generate.ts\`. ${what}\n`;

const labels = '  labels:\n    app.kubernetes.io/name: etcd-operator\n    app.kubernetes.io/part-of: etcd-operator\n';
const subject = 'subjects:\n  - kind: ServiceAccount\n    name: etcd-operator\n    namespace: etcd-operator-system\n';

function role(kind: 'ClusterRole' | 'Role', name: string, namespace: string | undefined, rules: Rule[]): string {
  const ns = namespace ? `  namespace: ${namespace}\n` : '';
  const binding = kind === 'ClusterRole' ? 'ClusterRoleBinding' : 'RoleBinding';
  return (
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${ns}${labels}rules:\n${renderRules(rules, '  ')}---\n` +
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${binding}\nmetadata:\n  name: ${name}\n${ns}${labels}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ${kind}\n  name: ${name}\n${subject}`
  );
}

export const clusterWideRbacPath = 'deploy/overlays/cluster-wide/manager-rbac.yaml';
export const namespacedRbacPath = 'deploy/overlays/namespaced/watch-etcd-demo.yaml';
export const chartRulesPath = 'charts/etcd-operator/templates/_manager-rules.tpl';

/** The ClusterRole for every namespace, and the storage classes rule only this mode can grant. */
export function renderClusterWideRbac(): string {
  return (
    generated('The manager rules in every namespace.') +
    role('ClusterRole', 'etcd-operator-manager', undefined, managerRules) +
    '---\n' +
    comment(storageClassReason, '').join('\n') +
    '\n' +
    role('ClusterRole', 'etcd-operator-storage-classes', undefined, storageClassRules)
  );
}

const storageClassReason =
  "spec.storage.size growth reads the claims' StorageClass (allowVolumeExpansion) with a live get: cluster-scoped, so only in this mode. Namespaced installs go without; the API server's own admission then refuses a claim whose class cannot expand.";

/** The manager rules in one watched namespace: users copy this file once per namespace. */
export function renderNamespacedRbac(): string {
  return (
    generated('The manager rules granted in one watched namespace (etcd-demo): copy this file once per\n# watched namespace, changing its two `namespace:` fields (see kustomization.yaml).') +
    role('Role', 'etcd-operator-manager', 'etcd-demo', managerRules)
  );
}

/** A named template both of the chart's modes (ClusterRole, or a Role per namespace) include. */
export function renderChartRules(): string {
  return `{{- /*\n${generated('Why each rule is needed is written there.').trimEnd()}\n*/ -}}\n{{- define "etcd-operator.managerRules" -}}\n${renderRules(managerRules, '', false)}{{- end -}}\n` +
    `{{- define "etcd-operator.storageClassRules" -}}\n${renderRules(storageClassRules, '', false)}{{- end -}}\n`;
}
