/** Entry point of the member pods' start guard (`node dist/member-init.js ...`); see member-init/. */
import { type GuardOptions, parseGuardArgs, runGuard } from './member-init/main.js';

const fail = (code: number, err: unknown): never => {
  console.error(JSON.stringify({ level: 'error', message: 'member-init failed', error: err instanceof Error ? err.message : String(err) }));
  process.exit(code);
};

function options(): GuardOptions {
  try {
    return parseGuardArgs(process.argv.slice(2), process.env);
  } catch (err) {
    return fail(2, err);
  }
}
// Anything else (the certificates unreadable, say) fails closed: the kubelet runs the guard again.
await runGuard(options()).catch((err: unknown) => fail(1, err));
process.exit(0);
