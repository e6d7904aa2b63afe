// A bearer-token server for docker-registry's `auth: token:` mode, for tests: it signs JWTs with
// a throw-away key (its certificate is the registry's rootcertbundle). Anonymous users may pull
// "public/*"; "bob:builder" may pull and push anything; other credentials are refused (401).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { run } from './registry';

export interface TokenServer {
  port: number;
  /** the scopes asked for and the user who asked, one per token request */
  requests: { scope: string[]; user?: string; account?: string }[];
  /** the `auth:` YAML for docker-registry */
  authYaml: string;
  close(): Promise<void>;
}

export async function startTokenServer(dir: string): Promise<TokenServer> {
  fs.mkdirSync(dir, { recursive: true });
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=box-test-token',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ]);
  const key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'key.pem')));
  const certDer = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'cert.pem'))).raw.toString('base64');
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  const requests: TokenServer['requests'] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== 'bob' || p !== 'builder') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    const account = url.searchParams.get('account') ?? undefined;
    requests.push({ scope: scopes, user, ...(account ? { account } : {}) });
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      const granted = actions.split(',').filter((a) => user === 'bob' || (a === 'pull' && name.startsWith('public/')));
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
    const claims = b64url(
      JSON.stringify({
        iss: 'box-test-issuer',
        sub: user ?? '',
        aud: 'box-test-registry',
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      }),
    );
    const sig = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), key);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    authYaml:
      `auth:\n  token:\n    realm: http://127.0.0.1:${port}/token\n` +
      `    service: box-test-registry\n    issuer: box-test-issuer\n    rootcertbundle: ${dir}/cert.pem\n`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
