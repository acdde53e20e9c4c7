#!/usr/bin/env node
/** Entry point of the `kubectl etcd` plugin (kubectl finds `kubectl-etcd` on PATH); see plugin/. */
import { run } from './plugin/main.js';

const code = await run(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), now: () => new Date() });
process.exitCode = code;
