// A small HTTP(S) client for the registry API over Node's http and https modules: keep-alive
// connections, redirects (blob downloads are often redirected to a storage service; credentials
// are not sent to another origin) and an idle timeout, with responses left as streams.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import * as tls from 'node:tls';
import { BoxError } from '../../errors';
import { writeStderr } from '../../util/stderr';

export interface HttpOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** the request body: bytes, or a function giving a fresh stream of them (give content-length) */
  body?: Buffer | (() => Readable);
  /** verify TLS certificates (default true) */
  tlsVerify?: boolean;
  /** fail when the connection stays silent this long (default 60 s) */
  idleTimeoutMs?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** the body, as a stream: consume it (or call discard()) */
  body: http.IncomingMessage;
  /** the URL that answered, after redirects */
  url: URL;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: undefined as https.Agent | undefined,
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

/**
 * The verifying agent, made on the first TLS connection. The executable's node does not read
 * NODE_EXTRA_CA_CERTS while it starts (build/build.mjs: it cost every command ~28 ms): as node
 * would, its certificates join node's bundled roots here, in one secure context for every connection.
 */
function verifyingAgent(): https.Agent {
  if (agents.https) return agents.https;
  const file = process.env.NODE_EXTRA_CA_CERTS;
  let secureContext: tls.SecureContext | undefined;
  if (file) {
    try {
      // addCACert copies node's root store once and adds every certificate of the PEM text to it:
      // 35 ms of CPU for this VM's bundle, against 49 ms for `ca: [...tls.rootCertificates, pem]`,
      // which turns the roots into text and parses them again (measured 2026-12-04)
      const pem = fs.readFileSync(file, 'utf8');
      const context = tls.createSecureContext();
      (context.context as { addCACert(pem: string): void }).addCACert(pem);
      secureContext = context;
    } catch (err) {
      // node's own behaviour: a warning, and the bundled roots alone
      writeStderr(`box: warning: ignoring extra certs from ${file} (NODE_EXTRA_CA_CERTS): ${(err as Error).message}\n`);
    }
  }
  agents.https = new https.Agent({ keepAlive: true, maxSockets: 16, secureContext });
  return agents.https;
}

const USER_AGENT = `box/${process.env.npm_package_version ?? '0'} (node ${process.versions.node})`;

function once(url: URL, opts: HttpOptions, headers: Record<string, string>): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = isHttps ? (opts.tlsVerify === false ? agents.httpsInsecure : verifyingAgent()) : agents.http;
    const req = mod.request(url, { method: opts.method ?? 'GET', headers, agent, signal: opts.signal }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    const idle = opts.idleTimeoutMs ?? 60_000;
    req.setTimeout(idle, () => req.destroy(new BoxError(`${url.host}: no response for ${Math.round(idle / 1000)} s`)));
    req.on('error', reject);
    if (typeof opts.body === 'function') {
      const src = opts.body();
      src.on('error', (err) => req.destroy(err));
      src.pipe(req);
    } else {
      req.end(opts.body);
    }
  });
}

export async function httpRequest(url: URL, opts: HttpOptions = {}): Promise<HttpResponse> {
  let current = url;
  let headers: Record<string, string> = { 'user-agent': USER_AGENT, ...(opts.headers ?? {}) };
  for (let redirects = 0; ; redirects++) {
    const res = await once(current, opts, headers);
    if (![301, 302, 303, 307, 308].includes(res.status) || !res.headers.location) {
      // A stalled body after the headers is caught by the socket timeout set on the request.
      return res;
    }
    res.body.resume();
    if (redirects >= (opts.maxRedirects ?? 5)) throw new BoxError(`${url.host}: too many redirects`);
    const next = new URL(res.headers.location, current);
    if (next.origin !== current.origin) {
      // Never hand registry credentials to another origin (pre-signed storage URLs carry their own).
      const { authorization: _drop, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
}

/** Reads a whole (small) body, failing beyond `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new BoxError(`${res.url.host}: response larger than ${limit} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts, n);
}

export function discard(res: HttpResponse): void {
  res.body.resume();
}
