import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsClientOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip server verification (only for self-signed health endpoints). */
  insecure?: boolean;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** A GET with a short deadline; network errors reject. */
export function httpGet(url: string, tls: TlsClientOptions = {}, timeoutMs = 2_000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const options = secure
      ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: timeoutMs }
      : { timeout: timeoutMs };
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}
