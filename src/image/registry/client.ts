// A client for one registry (distribution API v2): picks http or https, answers authentication
// challenges (anonymous or with credentials; Basic or Bearer tokens cached per scope) and fetches
// manifests and blobs. Blob bodies are returned as streams for the caller to verify and consume.
import { Readable } from 'node:stream';
import { BoxError } from '../../errors';
import { basicHeader, Challenge, Credentials, fetchToken, parseChallenge } from './auth';
import { discard, httpRequest, HttpResponse, readBody } from './http';
import { MANIFEST_ACCEPT } from './manifest';

export interface RegistryClientOptions {
  /**
   * false: accept any certificate and fall back to plain http. Unset: certificates are verified,
   * and a loopback registry may also answer in plain http.
   */
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** force a scheme instead of probing */
  scheme?: 'http' | 'https';
  signal?: AbortSignal;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** Node's codes for a certificate that failed verification (self-signed, unknown CA, wrong name, expired). */
function isCertificateError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code);
}

export class RegistryError extends BoxError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class RegistryClient {
  private base?: string;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<string>>();
  private readonly insecure: boolean;
  private readonly plainHttp: boolean;

  constructor(
    readonly host: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    this.insecure = opts.tlsVerify === false;
    this.plainHttp = this.insecure || (opts.tlsVerify === undefined && isLoopback(host));
  }

  private get tlsVerify(): boolean {
    return !this.insecure;
  }

  /**
   * GET /v2/: decides the scheme and learns the authentication challenge. Where plain http is
   * allowed on a loopback address, http is asked first: a port speaks one protocol, so the order
   * changes no outcome (the probe carries no credentials), and a TLS handshake sent to a plain
   * http registry cost a pull 30-60 ms before it failed, 250-300 ms when the 2-core VM was busy
   * (the verifying context's certificates, and the server's answer to bytes it cannot read).
   */
  private async probe(): Promise<string> {
    if (this.base) return this.base;
    const schemes: ('https' | 'http')[] = this.opts.scheme
      ? [this.opts.scheme]
      : this.plainHttp
        ? isLoopback(this.host)
          ? ['http', 'https']
          : ['https', 'http']
        : ['https'];
    let lastErr: unknown;
    /** plain http's answer when it was no registry's (a TLS port's 400, a web server's 404) */
    let notRegistry: number | undefined;
    for (const scheme of schemes) {
      const base = `${scheme}://${this.host}`;
      let res: HttpResponse;
      try {
        res = await httpRequest(new URL('/v2/', base), {
          tlsVerify: this.tlsVerify,
          signal: this.opts.signal,
          idleTimeoutMs: 30_000,
        });
      } catch (err) {
        // A registry that speaks TLS with a certificate we cannot verify: never fall back to http.
        if (isCertificateError(err)) {
          throw new RegistryError(
            `the registry ${this.host} presented a certificate that cannot be verified (${(err as Error).message}): trust its CA, or use --tls-verify=false`,
          );
        }
        lastErr = err;
        continue;
      }
      discard(res);
      if (res.status !== 200 && res.status !== 401) {
        // Plain http's answer leaves https to try; https's is final, as before.
        if (scheme === 'http' && schemes.at(-1) === 'https') {
          notRegistry = res.status;
          continue;
        }
        throw this.notARegistry(res.status);
      }
      if (res.status === 401) {
        const h = res.headers['www-authenticate'];
        this.challenge = parseChallenge(Array.isArray(h) ? h[0] : (h ?? ''));
      }
      this.base = base;
      return base;
    }
    if (notRegistry !== undefined) throw this.notARegistry(notRegistry);
    const msg = lastErr instanceof Error ? lastErr.message : String(lastErr);
    const hint = this.plainHttp ? '' : ' (for a registry without TLS, use --tls-verify=false)';
    throw new RegistryError(`cannot reach the registry ${this.host}: ${msg}${hint}`);
  }

  private notARegistry(status: number): RegistryError {
    return new RegistryError(`${this.host} is not a registry (GET /v2/ answered HTTP ${status})`, status);
  }

  /** scope undefined: a token for no repository (what a login asks for). */
  private async authHeader(scope: string | undefined, refresh: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.opts.credentials)
        throw new RegistryError(
          `${this.host} requires a login (basic authentication): run box login ${this.host}`,
          401,
        );
      return basicHeader(this.opts.credentials);
    }
    if (c.scheme === 'bearer') {
      // The promise is cached, so requests running in parallel share one token request.
      const key = scope ?? '';
      let token = refresh ? undefined : this.tokens.get(key);
      if (!token) {
        token = fetchToken(c, scope ?? '', this.opts.credentials, this.tlsVerify);
        this.tokens.set(key, token);
        token.catch(() => this.tokens.delete(key));
      }
      return `Bearer ${await token}`;
    }
    throw new RegistryError(`${this.host} asks for the unsupported authentication scheme "${c.scheme}"`);
  }

  /**
   * Checks the credentials against the registry (GET /v2/ through the challenge): resolves when
   * the registry accepts them (or needs none), fails with a clear message when it refuses them.
   */
  async checkLogin(): Promise<void> {
    const base = await this.probe();
    if (!this.challenge) return;
    const auth = await this.authHeader(undefined, false);
    const res = await httpRequest(new URL('/v2/', base), {
      headers: auth ? { authorization: auth } : {},
      tlsVerify: this.tlsVerify,
      signal: this.opts.signal,
    });
    if (res.status === 200) return discard(res);
    throw await this.failure(res, `login to ${this.host}`);
  }

  /** A request to the API with authentication, retried once after a fresh challenge. */
  async request(
    path: string,
    repository: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' = 'GET',
    extra: { push?: boolean; body?: Buffer | (() => Readable) } = {},
  ): Promise<HttpResponse> {
    const base = await this.probe();
    const scope = `repository:${repository}:${extra.push ? 'pull,push' : 'pull'}`;
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authHeader(scope, attempt > 0);
      const res = await httpRequest(new URL(path, base), {
        method,
        headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
        body: extra.body,
        tlsVerify: this.tlsVerify,
        signal: this.opts.signal,
      });
      if (res.status !== 401 || attempt > 0) return res;
      discard(res);
      const h = res.headers['www-authenticate'];
      const next = parseChallenge(Array.isArray(h) ? h[0] : (h ?? ''));
      if (!next) return res;
      this.challenge = next;
    }
  }

  async failure(res: HttpResponse, what: string): Promise<RegistryError> {
    let detail = '';
    try {
      const body = await readBody(res, 64 * 1024);
      const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
      const e = j.errors?.[0];
      if (e) detail = `: ${e.code ?? ''}${e.message ? ` (${e.message})` : ''}`;
    } catch {
      /* no JSON error body */
    }
    if (res.status === 401) {
      const who = this.opts.credentials
        ? `the credentials of "${this.opts.credentials.username}" were refused`
        : 'authentication required';
      return new RegistryError(`${what}: ${who}${detail}`, 401);
    }
    if (res.status === 403) return new RegistryError(`${what}: access denied${detail}`, 403);
    if (res.status === 404) return new RegistryError(`${what}: not found${detail}`, 404);
    return new RegistryError(`${what}: the registry answered HTTP ${res.status}${detail}`, res.status);
  }

  /** The manifest body and its Content-Type. */
  async getManifest(
    repository: string,
    reference: string,
    what: string,
  ): Promise<{ body: Buffer; contentType?: string; digestHeader?: string }> {
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, repository, { accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw await this.failure(res, what);
    const body = await readBody(res, 4 * 1024 * 1024);
    const dh = res.headers['docker-content-digest'];
    return { body, contentType: res.headers['content-type'], digestHeader: Array.isArray(dh) ? dh[0] : dh };
  }

  /** The blob's body as a stream (after redirects). */
  async getBlob(repository: string, digest: string, what: string): Promise<HttpResponse> {
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, repository);
    if (res.status !== 200) throw await this.failure(res, what);
    return res;
  }
}
