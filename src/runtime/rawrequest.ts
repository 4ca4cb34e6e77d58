import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  status: number;
  body: string;
}

export class RawRequestError extends Error {
  constructor(readonly status: number, readonly body: string, message: string) {
    super(message);
  }
}

/**
 * A plain HTTP(S) request to the API server with the KubeConfig's TLS and credentials. The body is sent as
 * given, byte for byte: client-node's typed serializers re-encode known kinds and drop or rename keys they do
 * not model (e.g. a CRD's x-kubernetes-* schema keys).
 */
export async function rawRequest(
  kc: KubeConfig,
  opts: { method: string; path: string; body?: unknown; contentType?: string; timeoutMs?: number; maxBytes?: number },
): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(opts.path, cluster.server);
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const reqOpts: RequestOptions = {
    method: opts.method,
    headers: {
      Accept: 'application/json',
      ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
    },
    timeout: opts.timeoutMs ?? 30_000,
  };
  await kc.applyToHTTPSOptions(reqOpts);
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolveReq, reject) => {
    const req = send(url, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy(new Error(`response from ${opts.path} exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        resolveReq({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method} ${opts.path}: timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** rawRequest that rejects with RawRequestError on a non-2xx status and parses the JSON body. */
export async function rawJson<T>(kc: KubeConfig, opts: Parameters<typeof rawRequest>[1]): Promise<T> {
  const res = await rawRequest(kc, opts);
  if (res.status < 200 || res.status >= 300) {
    let message = res.body.slice(0, 500);
    try {
      message = (JSON.parse(res.body) as { message?: string }).message ?? message;
    } catch { /* not JSON */ }
    throw new RawRequestError(res.status, res.body, `${opts.method} ${opts.path}: HTTP ${res.status}: ${message}`);
  }
  return JSON.parse(res.body) as T;
}
