/**
 * Schemas for the core Kubernetes types a pod template embeds (tolerations, affinity, topology
 * spread, resources), kept to the fields Pods accept so that typos are pruned at `kubectl apply`
 * instead of failing later when the operator writes the StatefulSet. The Pod API still validates
 * the values themselves. Shared pieces are single objects so generated types name them once.
 */
import { type Schema, array, enumOf, int32, int64, intOrStringQuantity, object, string, stringList, stringMap } from './schema-builders.js';

const key = (description: string) => string(description, 317);

const labelSelectorRequirement: Schema = object(
  'A label key, an operator and values.',
  {
    key: key('The label key the selector applies to.'),
    operator: enumOf('How the key relates to the values.', ['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: stringList('Values for In and NotIn; empty for Exists and DoesNotExist.', 64, 63),
  },
  { title: 'LabelSelectorRequirement', required: ['key', 'operator'] },
);

export const labelSelector: Schema = object(
  'Selects objects by their labels; both parts must match.',
  {
    matchLabels: stringMap('Labels that must be present with these values.', 32, 63),
    matchExpressions: array('Expressions that must all hold.', labelSelectorRequirement, 16, { 'x-kubernetes-list-type': 'atomic' }),
  },
  { title: 'LabelSelector', 'x-kubernetes-map-type': 'atomic' },
);

const nodeSelectorRequirement: Schema = object(
  'A node label (or field) key, an operator and values.',
  {
    key: key('The key the selector applies to.'),
    operator: enumOf('How the key relates to the values.', ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
    values: stringList('Values for In, NotIn, Gt and Lt.', 64, 63),
  },
  { title: 'NodeSelectorRequirement', required: ['key', 'operator'] },
);

const nodeSelectorTerm: Schema = object(
  'Node requirements that must all hold.',
  {
    matchExpressions: array('Requirements on node labels.', nodeSelectorRequirement, 16, { 'x-kubernetes-list-type': 'atomic' }),
    matchFields: array('Requirements on node fields.', nodeSelectorRequirement, 16, { 'x-kubernetes-list-type': 'atomic' }),
  },
  { title: 'NodeSelectorTerm', 'x-kubernetes-map-type': 'atomic' },
);

const weight = int32('Weight of this preference, 1 to 100.', { minimum: 1, maximum: 100 });

const nodeAffinity = object(
  'Node affinity scheduling rules.',
  {
    requiredDuringSchedulingIgnoredDuringExecution: object(
      'Nodes a member may be scheduled on: any one term must match.',
      { nodeSelectorTerms: array('Terms, ORed.', nodeSelectorTerm, 16, { 'x-kubernetes-list-type': 'atomic' }) },
      { title: 'NodeSelector', required: ['nodeSelectorTerms'], 'x-kubernetes-map-type': 'atomic' },
    ),
    preferredDuringSchedulingIgnoredDuringExecution: array(
      'Weighted node preferences.',
      object('A weighted node preference.', { weight, preference: nodeSelectorTerm }, { title: 'PreferredSchedulingTerm', required: ['weight', 'preference'] }),
      16,
      { 'x-kubernetes-list-type': 'atomic' },
    ),
  },
  { title: 'NodeAffinity' },
);

const podAffinityTerm: Schema = object(
  'Pods (matched by labelSelector in namespaces) that share, or must not share, a topology domain.',
  {
    labelSelector,
    namespaceSelector: labelSelector,
    namespaces: stringList('Namespaces to look in; empty means this namespace.', 32, 63),
    topologyKey: key('Node label naming the topology domain, such as kubernetes.io/hostname.'),
    matchLabelKeys: stringList('Pod label keys whose values are added to labelSelector.', 16, 317),
    mismatchLabelKeys: stringList('Pod label keys whose values must differ.', 16, 317),
  },
  { title: 'PodAffinityTerm', required: ['topologyKey'] },
);

const podAffinityRules = (title: string, description: string) =>
  object(
    description,
    {
      requiredDuringSchedulingIgnoredDuringExecution: array('Terms that must hold.', podAffinityTerm, 16, { 'x-kubernetes-list-type': 'atomic' }),
      preferredDuringSchedulingIgnoredDuringExecution: array(
        'Weighted preferences.',
        object('A weighted pod affinity term.', { weight, podAffinityTerm }, { title: 'WeightedPodAffinityTerm', required: ['weight', 'podAffinityTerm'] }),
        16,
        { 'x-kubernetes-list-type': 'atomic' },
      ),
    },
    { title },
  );

export const affinity = object(
  'Affinity rules for member pods, as in a Pod spec.',
  {
    nodeAffinity,
    podAffinity: podAffinityRules('PodAffinity', 'Pods that members should be scheduled near.'),
    podAntiAffinity: podAffinityRules('PodAntiAffinity', 'Pods that members should be kept away from.'),
  },
  { title: 'Affinity' },
);

export const toleration = object(
  'A taint that member pods tolerate, as in a Pod spec.',
  {
    key: key('The taint key; empty with operator Exists matches every taint.'),
    operator: enumOf('Equal (the default) or Exists.', ['Exists', 'Equal']),
    value: string('The taint value, for operator Equal.', 63),
    effect: enumOf('The taint effect to match; empty matches all.', ['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
    tolerationSeconds: int64('For NoExecute: how long the pod stays bound after the taint appears.'),
  },
  { title: 'Toleration' },
);

export const topologySpreadConstraint = object(
  'How member pods spread across topology domains, as in a Pod spec.',
  {
    maxSkew: int32('Largest allowed difference in matching pods between two domains.', { minimum: 1 }),
    topologyKey: key('Node label naming the topology domain, such as topology.kubernetes.io/zone.'),
    whenUnsatisfiable: enumOf('What to do when the constraint cannot be met.', ['DoNotSchedule', 'ScheduleAnyway']),
    labelSelector,
    minDomains: int32('Minimum number of eligible domains.', { minimum: 1 }),
    nodeAffinityPolicy: enumOf('Whether node affinity limits the domains counted.', ['Honor', 'Ignore']),
    nodeTaintsPolicy: enumOf('Whether node taints limit the domains counted.', ['Honor', 'Ignore']),
    matchLabelKeys: stringList('Pod label keys whose values are added to labelSelector.', 16, 317),
  },
  { title: 'TopologySpreadConstraint', required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
);

const quantities = (description: string): Schema => ({
  type: 'object',
  description,
  maxProperties: 16,
  additionalProperties: intOrStringQuantity('A quantity of this resource.'),
});

export const resourceRequirements = object(
  'Compute resources of the etcd container, as in a Pod spec.',
  {
    requests: quantities('Resources the scheduler reserves, such as cpu: 500m and memory: 1Gi.'),
    limits: quantities('Hard limits. etcd serves from memory: a memory limit below its database size gets it killed.'),
  },
  { title: 'ResourceRequirements' },
);
