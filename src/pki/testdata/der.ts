import { X509Certificate } from 'node:crypto';

/** The DER elements of a TBSCertificate, byte for byte as written (issuer and subject above all). */
export function tbsFields(pem: string): { issuer: Buffer; subject: Buffer } {
  const der = new X509Certificate(pem).raw;
  // One TLV at `at`: where its content starts and where it ends (definite lengths only, as DER).
  const tlv = (at: number) => {
    const first = der[at + 1]!;
    const lenBytes = first & 0x80 ? first & 0x7f : 0;
    let len = lenBytes ? 0 : first;
    for (let i = 0; i < lenBytes; i++) len = len * 256 + der[at + 2 + i]!;
    const content = at + 2 + lenBytes;
    return { content, end: content + len };
  };
  const tbs = tlv(tlv(0).content);
  const fields: Buffer[] = [];
  for (let at = tbs.content; at < tbs.end; at = tlv(at).end) fields.push(der.subarray(at, tlv(at).end));
  // version [0], serial, signature, issuer, validity, subject, ...
  return { issuer: fields[3]!, subject: fields[5]! };
}
