import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { issue } from '../../src/pki/x509.js';
import type { ControlPlane } from './control-plane.js';

/**
 * A kubeconfig for a system:masters client certificate whose common name is `user`: a process
 * under its own user name, so the API server's audit log tells its requests apart.
 */
export async function writeUserKubeconfig(cp: ControlPlane, dir: string, user: string): Promise<string> {
  const now = Date.now();
  const serialHex = (randomBytes(15)[0]! & 0x7f).toString(16).padStart(2, '0') + randomBytes(14).toString('hex');
  const cert = await issue({ commonName: user, organizations: ['system:masters'], usages: ['clientAuth'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000), serialHex }, cp.ca);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'harness', server: cp.server, caData: b64(cp.ca.certPem), skipTLSVerify: false }],
    users: [{ name: user, certData: b64(cert.certPem), keyData: b64(cert.keyPem) }],
    contexts: [{ name: 'harness', cluster: 'harness', user }],
    currentContext: 'harness',
  });
  const path = join(dir, `${user}.kubeconfig`);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
