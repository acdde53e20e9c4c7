import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Agent } from 'node:https';
import type { Readable } from 'node:stream';
import { type CertificateAndKey, issue } from '../../src/pki/x509.js';
import { minioBinary } from './binaries.js';
import { httpGet } from './http.js';
import { freePorts } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { waitFor } from './wait.js';

/** A real MinIO server on loopback, with one administrator key and buckets made on request. */
export interface S3Server {
  /** http(s)://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyID: string;
  readonly secretAccessKey: string;
  /** PEM of the CA that signed the server's certificate, when started with TLS. */
  readonly caPem: string | undefined;
  readonly process: ManagedProcess;
  /** An S3 client with the administrator's key. */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Size, user metadata (x-amz-meta-*), or undefined when there is no such object. */
  head(bucket: string, key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  read(bucket: string, key: string): Promise<Readable>;
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Multipart uploads started but neither completed nor aborted. */
  pendingUploads(bucket: string): Promise<number>;
  /** Stops the server (data stays), to test an unreachable or vanishing store. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

export interface S3ServerOptions {
  /** Serve HTTPS with a certificate from a throwaway CA (its PEM is `caPem`). */
  tls?: boolean;
}

function serial(): string {
  const bytes = randomBytes(15);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

async function writeServingCert(certsDir: string): Promise<CertificateAndKey> {
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * 86_400_000) };
  const ca = await issue({ commonName: 'etcd-operator-harness-s3-ca', isCA: true, ...validity, serialHex: serial() });
  const serving = await issue({ commonName: 'minio', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['serverAuth'], ...validity, serialHex: serial() }, ca);
  mkdirSync(certsDir, { recursive: true });
  // MinIO reads public.crt and private.key from its certs directory.
  writeFileSync(join(certsDir, 'public.crt'), serving.certPem);
  writeFileSync(join(certsDir, 'private.key'), serving.keyPem, { mode: 0o600 });
  return ca;
}

/** Starts MinIO under `dir` (a harness directory) and waits until it serves. */
export async function startS3Server(dir: string, options: S3ServerOptions = {}): Promise<S3Server> {
  const base = join(dir, options.tls ? 'minio-tls' : 'minio');
  const dataDir = join(base, 'data');
  const certsDir = join(base, 'certs');
  mkdirSync(dataDir, { recursive: true });
  const ca = options.tls ? await writeServingCert(certsDir) : undefined;
  const [port, consolePort] = await freePorts(2);
  const scheme = options.tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${port}`;
  const accessKeyID = 'harness-admin';
  const secretAccessKey = randomBytes(16).toString('hex');
  const env = {
    ...process.env,
    MINIO_ROOT_USER: accessKeyID,
    MINIO_ROOT_PASSWORD: secretAccessKey,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
    // A single drive on the root file system is refused outside CI mode.
    MINIO_CI_CD: 'on',
  };
  const args = ['server', dataDir, `--address=127.0.0.1:${port}`, `--console-address=127.0.0.1:${consolePort}`, `--certs-dir=${certsDir}`, '--quiet'];
  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess(options.tls ? 'minio-tls' : 'minio', minioBinary(), args, { logDir: dir, env });
    await waitFor('MinIO ready', async () => (await httpGet(`${endpoint}/minio/health/ready`, { ca: ca?.certPem })).status === 200, { process: proc, timeoutMs: 60_000, intervalMs: 200 });
  };
  await launch();
  const client = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKeyID, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(ca ? { requestHandler: { httpsAgent: new Agent({ ca: ca.certPem }) } } : {}),
    });
  const admin = client();
  return {
    endpoint,
    region: 'us-east-1',
    accessKeyID,
    secretAccessKey,
    caPem: ca?.certPem,
    get process() {
      return proc;
    },
    client,
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    async head(bucket, key) {
      try {
        const res = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: res.ContentLength ?? 0, metadata: res.Metadata ?? {} };
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
        throw err;
      }
    },
    async read(bucket, key) {
      const res = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return res.Body as Readable;
    },
    async keys(bucket, prefix) {
      const res = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (res.Contents ?? []).map((o) => o.Key!);
    },
    async pendingUploads(bucket) {
      const res = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return res.Uploads?.length ?? 0;
    },
    stop: () => proc.stop(),
    start: launch,
  };
}
