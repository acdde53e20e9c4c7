// Why a figure stands where it does beside its floor, and how the figures are taken. Written from
// the mechanisms (probe periods, requeue delays, etcd's own rules), which do not move run to run.

/** One sentence per figure that is far from its floor. */
export const notes: Record<string, string> = {
  'ready.1': 'Time to ready: the operator issues a CA and four RSA-2048 certificates per cluster, the StatefulSet controller and the agent each take a watch round trip to act, and the agent only reports Ready after the first readiness probe (period 5 s, as the pod spec sets it) has passed, where the bare floor polls /health every 20 ms.',
  'ready.5': 'Members start in parallel (podManagementPolicy Parallel), so 5 members cost little more than 1: the gap to the floor is the fixed cost above, not per member.',
  'scale.up': 'Scale-up is two learner steps, each followed by a pod start, a readiness probe (5 s period) before the operator sees the learner and a pass to promote; the second add is refused by etcd for 5 s after the first member joined ("unhealthy cluster"), which the floor pays too.',
  'scale.down': 'Scale-down moves leadership away if needed, removes one member per pass, and requeues 500 ms after acting; etcd refuses a removal for 5 s after a member joined, which both sides pay when the scale-down follows a scale-up.',
  'recovery.kill.etcd': 'The agent restarts a killed container at once (the first crash-loop backoff is 0), so etcd itself is back close to the floor.',
  'recovery.kill': 'Ready and converged waits for the agent\'s readiness probe (5 s period) and the operator\'s next pass, which the pod\'s Ready change triggers.',
  'recovery.replace': 'Replacing a lost member is two membership changes (remove the lost member, add an empty learner and promote it), a new PVC and pod, and a 5 s readiness probe period; the floor is one learner add.',
  'e2a.up': 'The first API write on scale-up is the membership ConfigMap, written right after the MemberAddLearner RPC: the figure includes the watch delivery, the pass up to the change and that RPC.',
  'e2a.down': 'On scale-down the operator first removes the member in etcd (and may move leadership); its first API write is the membership ConfigMap that follows.',
  'quiet.reads': 'Goal: zero live reads; the pass reads the EtcdCluster and its children from the informer cache.',
  'quiet.rpcs': 'A quiet pass still asks etcd for the member list and each member\'s status (MemberList + one Status per member): that is how it judges health, and it is what the 30 s requeue is for.',
};

/** How the figures are taken; printed under the tables. */
export const method: string[] = [
  'Clocks: `performance.now()` in the bench process; the clock starts before the action (process spawn, `kubectl apply`, `kubectl patch`, SIGKILL, `kubectl delete`) and stops at the first poll that sees the end state. Bare etcd is polled every 20 ms, Kubernetes state every 100 ms (250 ms for the fleet).',
  '"Converged" is what `test/e2e` waits for: status.observedGeneration current, N members all healthy voters, N ready replicas, the StatefulSet at N, Available=True and Progressing=False.',
  'Floor: `test/harness/etcd-cluster.ts` members with the same etcd binary and mutual TLS on loopback, certificates issued before the clock starts; membership changes through the operator\'s own admin client (`src/etcd/client.ts`), retried every 20 ms while etcd refuses them (UnhealthyCluster, LearnerNotReady). The single learner add is timed from the accepted add to the promoted member being healthy; the bare 3 -> 5 and 5 -> 3 include etcd\'s 5 s window between two changes, as the operator\'s do.',
  'API requests: the API server runs with an audit policy that records, at Metadata level, every request of the operator\'s user (the operator gets its own client certificate, CN `etcd-operator-bench` in system:masters) and nothing from the agent or the controller manager. Reads are get/list, writes create/update/patch/delete, watches are counted apart. `apiserver_request_total` has no user label, so it cannot separate the operator from the agent on one API server.',
  'Passes: the delta of `controller_runtime_reconcile_total` on the operator\'s /metrics over the same window. Quiet passes are triggered by annotating the converged EtcdCluster once a second (a change with nothing to do: the same pass the 30 s requeue runs), after the operator has written nothing for 3 s.',
  'etcd RPCs: the delta of `grpc_server_handled_total` summed over every member\'s :2381/metrics over the window. Only the operator speaks gRPC to these members during the window (the agent\'s probes use HTTP /livez and /readyz; the background window in Details shows zero calls without passes).',
  'Event to action: the audit log times both ends on the API server\'s clock, in microseconds: from the completed response to the bench\'s patch of the EtcdCluster to the receipt of the operator\'s first write request after it.',
  'Operator memory and CPU: VmRSS and utime+stime from /proc of the operator process (`node --import tsx src/main.ts`, so it includes tsx\'s loader), CPU over a 32 s window that holds one 30 s requeue pass of every cluster. Fleet clusters are 1-member, `storage: {type: EmptyDir, size: 64Mi}`, applied in one `kubectl apply`; 1, 10 and 50 are one sample each, in that order, in one operator process.',
];
