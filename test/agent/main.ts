import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createLogger } from '../../src/telemetry/logger.js';
import { startAgent } from './agent.js';

/**
 * `npx tsx test/agent/main.ts --kubeconfig <file> --dir <dir> [--node-name local-agent]`:
 * the agent as its own process, for the demo. Ctrl-C (or SIGTERM) stops every container first.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      dir: { type: 'string' },
      'node-name': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  if (!values.dir) throw new Error('--dir is required: the agent keeps volumes and pod directories there');
  const log = createLogger(values['log-level'] ?? 'info');
  const agent = await startAgent({ kubeconfigPath: values.kubeconfig, dir: resolve(values.dir), nodeName: values['node-name'], log });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping on signal', { signal });
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('stop failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
