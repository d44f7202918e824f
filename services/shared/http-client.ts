/**
 * A small HTTP(S) client for the registry adapter: like fetch(), but able to trust a custom CA
 * (SCHEMA_REGISTRY_CA_FILE) through a node:https Agent, which the global fetch cannot take.
 */
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface HttpInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/** An https Agent trusting `ca` (keep-alive), or undefined for the system's CAs. */
export function tlsAgent(ca: string | undefined): HttpsAgent | undefined {
  return ca ? new HttpsAgent({ ca, keepAlive: true }) : undefined;
}

export function httpCall(url: string, init: HttpInit = {}, agent?: HttpsAgent | HttpAgent): Promise<HttpResponse> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(u, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(agent ? { agent } : {}), timeout: init.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, text: async () => body, json: async () => JSON.parse(body) as unknown });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`timed out after ${init.timeoutMs ?? 10_000} ms`)));
    r.on('error', reject);
    if (init.body !== undefined) r.write(init.body);
    r.end();
  });
}
