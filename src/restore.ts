/**
 * Entry point of the restore pods' own steps (`node dist/restore.js fetch|install ...`); see
 * restore/fetch.ts. A failure is written to the termination message, which the operator shows in
 * the EtcdCluster's status, and exits 1; a fetch that may succeed if run again (the object store
 * unreachable or answering 5xx, see isTransient) exits 75, and the operator runs the pod again.
 * Usage errors exit 2.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type FetchOptions, RestoreStepError, fetchSnapshot, install, isTransient, transientExitCode } from './restore/fetch.js';
import { fetchEnv } from './restore/pods.js';

const terminationLog = '/dev/termination-log';

function fail(code: number, err: unknown): never {
  const message = err instanceof Error ? (err instanceof RestoreStepError ? err.message : `${err.name}: ${err.message}`) : String(err);
  console.error(JSON.stringify({ level: 'error', message: 'restore step failed', error: message }));
  try {
    writeFileSync(terminationLog, message.slice(0, 4000));
  } catch {
    // Outside a pod there is no termination log; the message is on stderr.
  }
  process.exit(code);
}

function fetchOptions(argv: string[]): FetchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(['endpoint', 'bucket', 'key', 'region', 'force-path-style', 'target-version', 'volume', 'compression', 'sha256', 'snapshot-sha256'].map((n) => [n, { type: 'string' as const }])),
  });
  const need = (name: string): string => {
    const v = values[name];
    if (typeof v !== 'string' || v === '') throw new Error(`--${name} is required`);
    return v;
  };
  const compression = values['compression'];
  if (compression !== undefined && compression !== 'none' && compression !== 'gzip') throw new Error('--compression must be none or gzip');
  const env = (name: string) => process.env[name] || undefined;
  const accessKeyId = env(fetchEnv.accessKeyId);
  const secretAccessKey = env(fetchEnv.secretAccessKey);
  if (!accessKeyId || !secretAccessKey) throw new Error(`${fetchEnv.accessKeyId} and ${fetchEnv.secretAccessKey} must be set`);
  return {
    endpoint: need('endpoint'),
    bucket: need('bucket'),
    key: need('key'),
    region: values['region'] ?? 'us-east-1',
    forcePathStyle: values['force-path-style'] !== 'false',
    targetVersion: need('target-version'),
    volume: need('volume'),
    compression,
    sha256: values['sha256'],
    snapshotSha256: values['snapshot-sha256'],
    accessKeyId,
    secretAccessKey,
    caPem: env(fetchEnv.caPem),
  };
}

const [command, ...rest] = process.argv.slice(2);
const log = (message: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ level: 'info', message, ...fields }));
if (command === 'fetch') {
  let options: FetchOptions;
  try {
    options = fetchOptions(rest);
  } catch (err) {
    fail(2, err);
  }
  const started = Date.now();
  const fetched = await fetchSnapshot(options).catch((err: unknown) => fail(isTransient(err) ? transientExitCode : 1, err));
  log('snapshot fetched and checked', { key: options.key, ...fetched, ms: Date.now() - started });
} else if (command === 'install') {
  let volume = '';
  try {
    volume = parseArgs({ args: rest, strict: true, options: { volume: { type: 'string' } } }).values.volume ?? '';
    if (!volume) throw new Error('--volume is required');
  } catch (err) {
    fail(2, err);
  }
  try {
    log('data directory in place', { outcome: install(volume) });
  } catch (err) {
    fail(1, err);
  }
} else {
  fail(2, new Error(`unknown step ${JSON.stringify(command)}: use fetch or install`));
}
process.exit(0);
