import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * A non-2xx answer of the API server. Callers decide by `statusCode` (404, 409, 410, ...), never
 * by the message.
 */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
    message: string,
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
}

/** A Status object, as the API server sends with errors and in watch ERROR events. */
export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
}

async function open(kc: KubeConfig, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const opts: https.RequestOptions = { method: options.method ?? 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  // An explicit length: Node does not chunk a DELETE body, and the server would wait for one.
  if (payload !== undefined) opts.headers = { ...opts.headers, 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) };
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { ...opts, signal: options.signal }, resolve);
    req.once('error', reject);
    req.end(payload);
  });
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function apiError(status: number, text: string): KubeApiError {
  let parsed: KubeStatus = {};
  try {
    parsed = JSON.parse(text) as KubeStatus;
  } catch {
    // Not a Status object (a proxy's HTML page, say): the HTTP code still classifies it.
  }
  return new KubeApiError(status, parsed.reason, parsed.message ?? (text.slice(0, 200) || `HTTP ${status}`));
}

/** One JSON request; resolves with the decoded body of a 2xx answer, throws KubeApiError otherwise. */
export async function kubeRequest<T>(kc: KubeConfig, path: string, options: RequestOptions = {}): Promise<T> {
  const res = await open(kc, path, options);
  const text = await readBody(res);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw apiError(status, text);
  return JSON.parse(text) as T;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

/**
 * Streams a watch. Resolves when the server ends it (its timeout), rejects on a refused watch
 * (KubeApiError), a broken connection, or abort. Each decoded event goes to `onEvent` in order.
 */
export async function watchStream(kc: KubeConfig, path: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await open(kc, path, { signal });
  const status = res.statusCode ?? 0;
  if (status !== 200) throw apiError(status, await readBody(res));
  const lines = createInterface({ input: res, crlfDelay: Infinity });
  await new Promise<void>((resolve, reject) => {
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
