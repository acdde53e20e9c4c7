/**
 * `$(VAR)` expansion exactly as the kubelet applies it to env values, command and args:
 * `$$` is an escaped `$`, `$(NAME)` is replaced when NAME is defined and kept literally when it
 * is not, an unterminated `$(` and a `$` before any other character are kept as written.
 */
export function expandReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const { text, advance } = readReference(input.slice(cursor + 1), lookup);
    out += text;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** What follows a `$`: the text to emit and how many characters after the `$` it consumed. */
function readReference(rest: string, lookup: (name: string) => string | undefined): { text: string; advance: number } {
  if (rest[0] === '$') return { text: '$', advance: 1 };
  if (rest[0] !== '(') return { text: `$${rest[0]}`, advance: 1 };
  const close = rest.indexOf(')');
  // An unterminated reference: emit "$(" and keep scanning after it, as the kubelet does.
  if (close === -1) return { text: '$(', advance: 1 };
  const name = rest.slice(1, close);
  return { text: lookup(name) ?? `$(${name})`, advance: close + 1 };
}

/** Expands every string against one environment (the container's final env). */
export function expandAll(values: readonly string[] | undefined, env: ReadonlyMap<string, string>): string[] {
  return (values ?? []).map((v) => expandReferences(v, (name) => env.get(name)));
}
