// Registry authentication: the WWW-Authenticate challenge (Basic, or Bearer with a token service),
// bearer tokens fetched with or without credentials, and credentials read from a Docker-style
// config.json ("auths": { "host": { "auth": base64("user:password") } }).
import { BoxError } from '../../errors';
import { readUserFileIfExists } from '../../util/user-file';
import { httpRequest, readBody } from './http';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string; // lowercase: "bearer", "basic"
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let pm: RegExpExecArray | null;
  while ((pm = re.exec(m[2])) !== null && pm[0] !== '') {
    params[pm[1].toLowerCase()] = pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : pm[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Asks the token service named in a Bearer challenge for a token for `scope`. */
export async function fetchToken(
  challenge: Challenge,
  scope: string | undefined,
  creds: Credentials | undefined,
  tlsVerify: boolean,
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new BoxError('the registry asked for a bearer token without naming a token service (no realm)');
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new BoxError(`the registry's token service "${realm}" is not a valid URL`);
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  if (creds) url.searchParams.set('account', creds.username);
  for (const s of (scope ?? challenge.params.scope ?? '').split(' ').filter(Boolean))
    url.searchParams.append('scope', s);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (creds) headers.authorization = basicHeader(creds);
  const res = await httpRequest(url, { headers, tlsVerify });
  const body = await readBody(res, 1024 * 1024);
  if (res.status === 401 || res.status === 403) {
    throw new BoxError(
      `the token service ${url.host} refused ${creds ? `the credentials of "${creds.username}"` : 'anonymous access'} (HTTP ${res.status})`,
    );
  }
  if (res.status !== 200) throw new BoxError(`the token service ${url.host} answered HTTP ${res.status}`);
  let token: unknown;
  try {
    const j = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
    token = j.token ?? j.access_token;
  } catch {
    /* below */
  }
  if (typeof token !== 'string' || !token) throw new BoxError(`the token service ${url.host} sent no token`);
  return token;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

/** How the credentials file is read: a Docker config.json holds a few credentials, far below 1 MiB. */
export const CREDENTIALS_FILE = { what: 'credentials file', maxBytes: 1 << 20, hint: 'give a Docker config.json' };

/** Credentials for `registry` from a Docker config.json-style file, if it has any. */
export function credentialsFromFile(file: string, registry: string): Credentials | undefined {
  const bytes = readUserFileIfExists(file, CREDENTIALS_FILE);
  if (!bytes) return undefined;
  let parsed: AuthFile;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as AuthFile;
  } catch (err) {
    throw new BoxError(`cannot read credentials from ${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BoxError(`cannot read credentials from ${file}: not a JSON object`);
  }
  const auths = typeof parsed.auths === 'object' && parsed.auths !== null ? parsed.auths : {};
  const keys =
    registry === 'docker.io'
      ? ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'registry-1.docker.io']
      : [registry, `https://${registry}`, `http://${registry}`];
  for (const k of keys) {
    const e = auths[k] ?? auths[k + '/'];
    if (!e) continue;
    if (e.auth) {
      const s = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = s.indexOf(':');
      if (i > 0) return { username: s.slice(0, i), password: s.slice(i + 1) };
    }
    if (e.username && e.password !== undefined) return { username: e.username, password: e.password };
  }
  return undefined;
}
