/** The Kubernetes side of a backup: its status, its Events, and the Secrets it names. */
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { EtcdBackup, EtcdBackupStatus } from '../api/backup-types.generated.js';
import { apiVersion, backupNames } from '../api/group.js';
import { postEvent } from '../runtime/events.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import type { S3Credentials } from './s3.js';

const backupPath = (ns: string, name: string) => `/apis/${apiVersion}/namespaces/${encodeURIComponent(ns)}/${backupNames.plural}/${encodeURIComponent(name)}`;

/** Replaces the status with a merge patch; fields this pass no longer reports are sent as null. */
export async function patchBackupStatus(kc: KubeConfig, backup: EtcdBackup, status: EtcdBackupStatus, signal?: AbortSignal): Promise<void> {
  const cleared = Object.fromEntries(Object.keys(backup.status ?? {}).map((k) => [k, null]));
  const body = { status: { ...cleared, ...(JSON.parse(JSON.stringify(status)) as Record<string, unknown>) } };
  await kubeRequest(kc, `${backupPath(backup.metadata.namespace!, backup.metadata.name!)}/status`, { method: 'PATCH', body, contentType: 'application/merge-patch+json', signal });
}

/** An Event on the EtcdBackup, for `kubectl describe etcdbackup` and `kubectl get events`. */
export async function backupEvent(kc: KubeConfig, backup: EtcdBackup, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): Promise<void> {
  const { name, namespace, uid } = backup.metadata;
  await postEvent(kc, { apiVersion, kind: backupNames.kind, name, namespace, uid }, type, reason, message, now);
}

/** Thrown when a Secret the backup names is missing or incomplete: the user must fix it. */
export class BackupInputError extends Error {
  constructor(readonly failure: BackupFailure) {
    super(failure.message);
    this.name = 'BackupInputError';
  }
}

/** A user's Secret, read live (the informer only holds the operator's own Secrets). */
async function readSecret(kc: KubeConfig, ns: string, name: string, what: string, signal: AbortSignal): Promise<Record<string, string>> {
  try {
    const secret = await kubeRequest<V1Secret>(kc, `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`, { signal });
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if (statusCodeOf(err) !== 404) throw err;
    throw new BackupInputError({ reason: backupReasons.credentialsSecretInvalid, message: `Secret ${name} (${what}) does not exist in namespace ${ns}; create it, then create a new EtcdBackup`, retryable: false });
  }
}

export async function readCredentials(kc: KubeConfig, backup: EtcdBackup, signal: AbortSignal): Promise<S3Credentials> {
  const name = backup.spec.destination.credentialsSecretRef.name;
  const data = await readSecret(kc, backup.metadata.namespace!, name, 'destination.credentialsSecretRef', signal);
  const accessKeyId = data['accessKeyID'];
  const secretAccessKey = data['secretAccessKey'];
  if (!accessKeyId || !secretAccessKey) {
    throw new BackupInputError({ reason: backupReasons.credentialsSecretInvalid, message: `Secret ${name} must hold the keys accessKeyID and secretAccessKey`, retryable: false });
  }
  return { accessKeyId, secretAccessKey };
}

/** The CA to trust for the endpoint: inline, from a Secret, or none (the system's roots). */
export async function readCa(kc: KubeConfig, backup: EtcdBackup, signal: AbortSignal): Promise<string | undefined> {
  const { caBundle, caSecretRef } = backup.spec.destination;
  if (caBundle) return caBundle;
  if (!caSecretRef) return undefined;
  const data = await readSecret(kc, backup.metadata.namespace!, caSecretRef.name, 'destination.caSecretRef', signal);
  const pem = data[caSecretRef.key];
  if (!pem) throw new BackupInputError({ reason: backupReasons.credentialsSecretInvalid, message: `Secret ${caSecretRef.name} has no key ${caSecretRef.key}`, retryable: false });
  return pem;
}

/** Creates a scheduled backup; one that exists already (409) counts as created. */
export async function createBackup(kc: KubeConfig, backup: EtcdBackup, signal?: AbortSignal): Promise<boolean> {
  const ns = backup.metadata.namespace!;
  try {
    await kubeRequest(kc, `/apis/${apiVersion}/namespaces/${encodeURIComponent(ns)}/${backupNames.plural}`, { method: 'POST', body: backup, signal });
    return true;
  } catch (err) {
    if (statusCodeOf(err) === 409) return false;
    throw err;
  }
}

export async function deleteBackup(kc: KubeConfig, backup: EtcdBackup, signal?: AbortSignal): Promise<void> {
  try {
    await kubeRequest(kc, backupPath(backup.metadata.namespace!, backup.metadata.name!), { method: 'DELETE', signal });
  } catch (err) {
    if (statusCodeOf(err) !== 404) throw err;
  }
}
