{{/* "<release>-etcd-operator", or the release name alone when it already says etcd-operator. */}}
{{- define "etcd-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "etcd-operator.serviceAccountName" -}}
{{- default (include "etcd-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "etcd-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "etcd-operator.fullname" .)) .Values.leaderElection.id -}}
{{- end -}}

{{/*
Selects the operator's pods. Never app.kubernetes.io/managed-by=etcd-operator: that label marks
the etcd children the operator's informers select.
*/}}
{{- define "etcd-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "etcd-operator.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: etcd-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
What the reconciler does, verb by verb (src/controller, src/runtime); the same rules as
the ClusterRole in deploy/overlays/cluster-wide (a test keeps them equal). Why each is needed is written there.
*/}}
{{- define "etcd-operator.managerRules" -}}
- apiGroups: [etcd.operator.dev]
  resources: [etcdclusters]
  verbs: [list, watch]
- apiGroups: [etcd.operator.dev]
  resources: [etcdclusters/status]
  verbs: [patch]
- apiGroups: [etcd.operator.dev]
  resources: [etcdclusters/finalizers]
  verbs: [update]
- apiGroups: [etcd.operator.dev]
  resources: [etcdbackups]
  verbs: [get, list, watch, create, delete]
- apiGroups: [etcd.operator.dev]
  resources: [etcdbackups/status]
  verbs: [patch]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [list, watch, create, patch]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch]
- apiGroups: [""]
  resources: [services, configmaps]
  verbs: [list, watch, create, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [list, watch, create, delete, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}
