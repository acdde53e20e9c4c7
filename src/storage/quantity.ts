/**
 * Kubernetes storage quantities ("8Gi", "500M", "1.5Gi", "1e9") as whole bytes, enough to compare
 * a spec size with a PVC's request and capacity. BigInt, so that no size loses precision.
 */
const suffixes: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

/** Bytes of a quantity, rounded up as Kubernetes rounds storage; undefined when it is not one. */
export function bytesOf(quantity: string | undefined): bigint | undefined {
  const m = /^([0-9]+)(?:\.([0-9]+))?(?:([eE])([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|))$/.exec(quantity?.trim() ?? '');
  if (!m) return undefined;
  const [, whole, fraction = '', exp, expValue, suffix = ''] = m;
  let numerator = BigInt(whole! + fraction) * (exp ? 1n : suffixes[suffix]!);
  let denominator = 10n ** BigInt(fraction.length);
  if (exp) {
    const e = BigInt(expValue!);
    if (e >= 0n) numerator *= 10n ** e;
    else denominator *= 10n ** -e;
  }
  return (numerator + denominator - 1n) / denominator;
}
