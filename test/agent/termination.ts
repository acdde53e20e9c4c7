import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';
import type { Bind } from './rootfs.js';

/** The kubelet's limits: 4096 bytes from the file, the log's last 80 lines or 2048 bytes. */
const fileLimit = 4096;
const logLines = 80;
const logBytes = 2048;

/**
 * The container's termination message file, as the kubelet provides it: an empty, writable
 * host file (one per run) mounted at terminationMessagePath (default /dev/termination-log).
 */
export function terminationFile(dir: string, run: number, spec: Wire<V1Container>): { bind: Bind } {
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `${run}.termination-log`);
  writeFileSync(source, '');
  // Containers run as any user; the kubelet's file is writable to them.
  chmodSync(source, 0o666);
  return { bind: { source, target: spec.terminationMessagePath ?? '/dev/termination-log', readOnly: false, file: true } };
}

/** What the container left in its file, or with FallbackToLogsOnError after a failure, its log's end. */
export function terminationMessage(file: string, logPath: string, exitCode: number, policy: string | undefined): string | undefined {
  const written = existsSync(file) ? readFileSync(file).subarray(0, fileLimit).toString('utf8') : '';
  if (written) return written;
  if (policy !== 'FallbackToLogsOnError' || exitCode === 0 || !existsSync(logPath)) return undefined;
  // The agent's own header lines (--- time argv) are not the container's output.
  const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => !l.startsWith('--- '));
  const tail = lines.slice(-logLines).join('\n').trim();
  return tail.length > logBytes ? tail.slice(-logBytes) : tail || undefined;
}
