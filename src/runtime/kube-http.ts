import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { operatorVersion } from '../version.js';
import { currentPass, fenceWrite } from './pass-scope.js';

/** Who is calling, in the API server's logs and audit events (client-go's format). */
export const userAgent = `etcd-operator/v${operatorVersion} (${process.platform}/${process.arch}) node/${process.version}`;

/** The deadline of one request, body included, unless the caller gives its own. */
export const defaultRequestTimeoutMs = 30_000;

/** A watch that delivers nothing, not even a bookmark (the API server sends one about every minute), for this long is dead. */
export const defaultWatchIdleMs = 150_000;

/** How often a request refused with 429 (too many requests) is sent again, and the longest wait honoured. */
const throttleRetries = 3;
const maxRetryAfterMs = 10_000;

/**
 * A non-2xx answer of the API server. Callers decide by `statusCode` (404, 409, 410, ...), never
 * by the message.
 */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
    message: string,
    /** The server's Retry-After, for 429 and 503 answers. */
    readonly retryAfterMs?: number,
    /** What was asked: `PATCH /apis/apps/v1/namespaces/ns/statefulsets/name`. */
    readonly request?: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The HTTP status of an error from this module, or undefined for transport errors. */
export function statusCodeOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.statusCode : undefined;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Deadline of the whole request (default `defaultRequestTimeoutMs`); watches have none. */
  timeoutMs?: number;
}

/** A Status object, as the API server sends with errors and in watch ERROR events. */
export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** A free connection closes after this long unused: well inside the API server's 90 s idle timeout, so it never closes one as it is reused. */
export const idleConnectionMs = 30_000;

/** Agents by TLS material, the one used last at the end; a few kept, for the kubeconfigs of one process (a rotated certificate makes another). */
const agents = new Map<string, http.Agent>();
const maxAgents = 8;

/**
 * An agent that keeps its connections, one per TLS material (CA, client certificate and key,
 * server name): client-node's `applyToHTTPSOptions` gives an agent without keep-alive, so every
 * request (each status patch, each apply, each lease renewal) opened a TCP connection and made a
 * TLS handshake with the API server, on the path of the write and at both ends' CPU (bench/
 * kube-requests.ts). The material is read again for every request, so a rotated client
 * certificate gets a new agent; the old one's connections close once idle. Keyed by the material,
 * not the KubeConfig object, so kubeconfigs loaded again share their connections. A proxy keeps
 * client-node's agent.
 */
function keptAlive(kc: KubeConfig, opts: https.RequestOptions, protocol: string): http.Agent | undefined {
  if (kc.getCurrentCluster()?.proxyUrl) return undefined;
  const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, servername: opts.servername, rejectUnauthorized: opts.rejectUnauthorized };
  const material = JSON.stringify([protocol, ...Object.values(tls).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : (v ?? null)))]);
  let agent = agents.get(material);
  agents.delete(material);
  if (agent) agents.set(material, agent);
  else {
    const defined = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
    agent = protocol === 'http:' ? new http.Agent({ keepAlive: true, timeout: idleConnectionMs }) : new https.Agent({ keepAlive: true, timeout: idleConnectionMs, ...defined });
    agents.set(material, agent);
    // An agent let go still finishes what it carries (a watch); its free connections close when idle.
    if (agents.size > maxAgents) agents.delete(agents.keys().next().value!);
  }
  return agent;
}

/**
 * Sends a request. Inside a pass, a write is fenced first (no write once leadership may be gone)
 * and every request ends when the pass is aborted.
 */
async function open(kc: KubeConfig, path: string, options: RequestOptions, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const method = options.method ?? 'GET';
  if (method !== 'GET') fenceWrite();
  const opts: https.RequestOptions = { method, headers: { Accept: 'application/json', 'User-Agent': userAgent } };
  await kc.applyToHTTPSOptions(opts);
  opts.agent = keptAlive(kc, opts, url.protocol) ?? opts.agent;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  // An explicit length: Node does not chunk a DELETE body, and the server would wait for one.
  if (payload !== undefined) opts.headers = { ...opts.headers, 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) };
  const transport = url.protocol === 'http:' ? http : https;
  const send = (again: boolean) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, { ...opts, signal }, resolve);
      req.once('error', (err: NodeJS.ErrnoException) => {
        // A kept connection the server closed as it was taken (it restarted, say): a read is sent
        // once more on a new one. A write is not: it may have been done; the pass that sent it fails.
        if (again && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) resolve(send(false));
        else reject(err);
      });
      req.end(payload);
    });
  return send(method === 'GET');
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The signals a request ends on: the caller's, the pass's, and its own deadline. */
function signalsOf(options: RequestOptions, timeoutMs: number | undefined): AbortSignal | undefined {
  const signals = [options.signal, currentPass()?.signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
  return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}

/** Retry-After in seconds (the API server never sends a date), capped. */
function retryAfterOf(res: http.IncomingMessage): number | undefined {
  const seconds = Number(res.headers['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, maxRetryAfterMs) : undefined;
}

function apiError(status: number, text: string, retryAfterMs?: number, request?: string): KubeApiError {
  let parsed: KubeStatus = {};
  try {
    parsed = JSON.parse(text) as KubeStatus;
  } catch {
    // Not a Status object (a proxy's HTML page, say): the HTTP code still classifies it.
  }
  return new KubeApiError(status, parsed.reason, parsed.message ?? (text.slice(0, 200) || `HTTP ${status}`), retryAfterMs, request);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One JSON request; resolves with the decoded body of a 2xx answer, throws KubeApiError otherwise.
 * A 429 means the server did not run the request (priority and fairness, or max-in-flight), so it
 * is sent again after the server's Retry-After, a few times, within the same deadline.
 */
export async function kubeRequest<T>(kc: KubeConfig, path: string, options: RequestOptions = {}): Promise<T> {
  const signal = signalsOf(options, options.timeoutMs ?? defaultRequestTimeoutMs);
  for (let attempt = 0; ; attempt++) {
    const res = await open(kc, path, options, signal);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return JSON.parse(text) as T;
    const error = apiError(status, text, retryAfterOf(res), `${options.method ?? 'GET'} ${path.split('?')[0]}`);
    if (status !== 429 || attempt >= throttleRetries) throw error;
    await sleep(error.retryAfterMs ?? 1_000, signal);
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

/**
 * Streams a watch. Resolves when the server ends it (its timeout), rejects on a refused watch
 * (KubeApiError), a broken connection, abort, or `idleMs` without a byte (a connection that died
 * silently). Each decoded event goes to `onEvent` in order.
 */
export async function watchStream(kc: KubeConfig, path: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal, idleMs = defaultWatchIdleMs): Promise<void> {
  const res = await open(kc, path, { signal }, signalsOf({ signal }, undefined));
  const status = res.statusCode ?? 0;
  if (status !== 200) throw apiError(status, await readBody(res), retryAfterOf(res));
  const lines = createInterface({ input: res, crlfDelay: Infinity });
  let idle: NodeJS.Timeout | undefined;
  let silent: Error | undefined;
  const quiet = () => {
    silent = new Error(`watch delivered nothing for ${idleMs / 1000}s`);
    res.destroy(silent);
  };
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(quiet, idleMs);
  };
  touch();
  res.on('data', touch);
  try {
    // Ending it reports as an abort: say why instead.
    await readLines(res, lines, onEvent).catch((err: unknown) => {
      throw silent ?? err;
    });
  } finally {
    clearTimeout(idle);
  }
}

function readLines(res: http.IncomingMessage, lines: ReturnType<typeof createInterface>, onEvent: (event: WatchEvent) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    res.on('error', reject);
    // readline re-emits its input's errors; without a listener they would be uncaught.
    lines.on('error', reject);
    // 'aborted' without 'error' happens when the server dies mid-stream.
    res.once('aborted', () => reject(new Error('watch connection aborted')));
    lines.once('close', () => (res.complete ? resolve() : reject(new Error('watch connection closed before the end'))));
    let failed = false;
    lines.on('line', (line) => {
      if (failed || line.trim() === '') return;
      try {
        onEvent(JSON.parse(line) as WatchEvent);
      } catch (err) {
        // A bad line, an ERROR event (410 Gone) or a failing handler ends this watch with that
        // error; rejecting before destroying keeps it from being reported as a mere abort.
        failed = true;
        reject(err instanceof Error ? err : new Error(String(err)));
        res.destroy();
      }
    });
  });
}
