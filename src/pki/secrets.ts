/**
 * Secret builders for the PKI. Pure: the certificates, the owner reference and the cluster come in,
 * a Secret for server-side apply comes out.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { type ClusterRef, clusterLabels } from '../resources/names.js';
import { secretKeys } from './inspect.js';
import type { CertificateAndKey } from './x509.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * A `kubernetes.io/tls` Secret with `tls.crt`, `tls.key` and the trust bundle `ca.crt`. Written
 * as `data` rather than `stringData` so that a second apply of the same content is a no-op.
 */
export function buildTlsSecret(
  cluster: ClusterRef,
  secretName: string,
  material: CertificateAndKey,
  caPem: string,
  owner: V1OwnerReference,
  annotations?: Record<string, string>,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: cluster.namespace,
      labels: clusterLabels(cluster),
      ...(annotations ? { annotations } : {}),
      ownerReferences: [{ ...owner }],
    },
    type: 'kubernetes.io/tls',
    data: {
      [secretKeys.cert]: b64(material.certPem),
      [secretKeys.key]: b64(material.keyPem),
      [secretKeys.ca]: b64(caPem),
    },
  };
}

/** The operator's own CA: its certificate is its own trust bundle. */
export function buildCaSecret(cluster: ClusterRef, secretName: string, ca: CertificateAndKey, owner: V1OwnerReference, annotations?: Record<string, string>): V1Secret {
  return buildTlsSecret(cluster, secretName, ca, ca.certPem, owner, annotations);
}
