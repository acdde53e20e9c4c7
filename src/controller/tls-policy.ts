import type { EtcdClusterTLS } from '../api/types.generated.js';
import { parseDuration } from '../api/duration.js';
import type { TlsPolicy } from '../pki/policy.js';

/** The PKI policy from spec.tls; undefined when a duration does not parse. */
export function tlsPolicyOf(tls: EtcdClusterTLS): TlsPolicy | undefined {
  const validityMs = parseDuration(tls.certificateValidity);
  const renewBeforeMs = parseDuration(tls.renewBefore);
  // Absent only on objects read before the field existed (the CRD defaults it): the default applies.
  const caValidityMs = tls.caValidity === undefined ? undefined : parseDuration(tls.caValidity);
  if (validityMs === undefined || renewBeforeMs === undefined || (tls.caValidity !== undefined && caValidityMs === undefined)) return undefined;
  return { validityMs, renewBeforeMs, ...(caValidityMs !== undefined ? { caValidityMs } : {}) };
}
