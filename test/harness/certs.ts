import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertificateAndKey, generateKeyPair, issue } from '../../src/pki/x509.js';

/** Files the control plane is started with, all under the harness directory. */
export interface ControlPlaneCertFiles {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  admin: CertificateAndKey;
  controllerManager: CertificateAndKey;
  ca: CertificateAndKey;
}

function serial(): string {
  // 15 random bytes with the top bit cleared: positive, unique enough for a test CA.
  const bytes = randomBytes(15);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * 24 * 3600_000) };
}

/** A throwaway CA, the API server's serving certificate, client certificates and SA keys. */
export async function writeControlPlaneCerts(dir: string): Promise<ControlPlaneCertFiles> {
  const ca = await issue({ commonName: 'etcd-operator-harness-ca', isCA: true, ...validity(), serialHex: serial() });
  const [serving, admin, controllerManager, serviceAccount] = await Promise.all([
    issue(
      {
        commonName: 'kube-apiserver',
        dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
        ipAddresses: ['127.0.0.1', '10.0.0.1'],
        usages: ['serverAuth'],
        ...validity(),
        serialHex: serial(),
      },
      ca,
    ),
    // system:masters bypasses RBAC: the test's and the demo's administrator.
    issue({ commonName: 'harness-admin', organizations: ['system:masters'], usages: ['clientAuth'], ...validity(), serialHex: serial() }, ca),
    // The controller manager's own identity, which Kubernetes' default RBAC bindings know.
    issue({ commonName: 'system:kube-controller-manager', usages: ['clientAuth'], ...validity(), serialHex: serial() }, ca),
    generateKeyPair(),
  ]);
  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  const mode = { mode: 0o600 };
  writeFileSync(files.caCert, ca.certPem);
  writeFileSync(files.caKey, ca.keyPem, mode);
  writeFileSync(files.servingCert, serving.certPem);
  writeFileSync(files.servingKey, serving.keyPem, mode);
  writeFileSync(files.serviceAccountKey, serviceAccount.privateKeyPem, mode);
  writeFileSync(files.serviceAccountPub, serviceAccount.publicKeyPem);
  return { ...files, admin, controllerManager, ca };
}
