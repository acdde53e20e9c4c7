/**
 * Results of pure parsing, remembered by the exact input text. Every pass of every cluster reads
 * the same few certificates and keys out of the cache; parsing them again (an X509Certificate, a
 * createPrivateKey and a signature check per leaf) was most of a quiet pass's CPU: about 35 ms per
 * pass on this machine, 7 % of a core for 200 clusters (bench/many-clusters.ts). Inputs are keyed
 * by their SHA-256, so no key material is kept here beyond what the informer cache holds anyway.
 */
import { createHash } from 'node:crypto';

export class ParseMemo<T> {
  private readonly entries = new Map<string, T>();

  /** `max`: entries kept; the least recently used goes first (a renewed certificate's old text, a deleted cluster's). */
  constructor(private readonly max: number) {}

  get(parts: string[], compute: () => T): T {
    const key = digest(parts);
    if (this.entries.has(key)) {
      const value = this.entries.get(key)!;
      // Moved to the end: Map keeps insertion order, so the first entry is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, value);
      return value;
    }
    const value = compute();
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}

function digest(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('base64');
}
