// Where registry credentials live, and writing them: one Docker-compatible config.json
// ({"auths": {"host[:port]": {"auth": base64("user:password")}}}), at $BOX_CONFIG (a file), else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json, so `docker login` and `box login` share
// credentials. `box login` writes it 0600 (its directory 0700), keeping every other key as it is.
import * as os from 'node:os';
import * as path from 'node:path';
import { BoxError } from '../../errors';
import { mkdirp, writeFileAtomic } from '../../util/fs';
import { readUserFileIfExists } from '../../util/user-file';
import { CREDENTIALS_FILE, Credentials, credentialsFromFile } from './auth';
import { DOCKER_HUB } from './reference';

/** The credentials file box reads and `box login` writes. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BOX_CONFIG) return path.resolve(env.BOX_CONFIG);
  const dir = env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** The `auths` key Docker uses for a registry (Docker Hub has its historical URL). */
export function authKey(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/**
 * "https://reg.example:5000/" -> "reg.example:5000"; Docker Hub's aliases -> "docker.io". What
 * users type after `box login`.
 */
export function normaliseRegistry(input: string): string {
  let r = input.trim().replace(/^[a-z]+:\/\//i, '');
  r = r.replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');
  if (!r || r.includes('/') || /\s/.test(r))
    throw new BoxError(
      `invalid registry "${input}": give a host name with an optional port, e.g. registry.example:5000`,
    );
  if (['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', 'docker.io'].includes(r.toLowerCase()))
    return DOCKER_HUB;
  return r;
}

export function findCredentials(registry: string, file = credentialsFile()): Credentials | undefined {
  return credentialsFromFile(file, registry);
}

type ConfigFile = Record<string, unknown> & { auths?: Record<string, unknown> };

function readConfig(file: string): ConfigFile {
  const bytes = readUserFileIfExists(file, CREDENTIALS_FILE);
  if (!bytes) return {};
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as ConfigFile;
  } catch {
    /* below */
  }
  throw new BoxError(`${file} is not a JSON object: fix or remove it (box does not overwrite it)`);
}

function writeConfig(file: string, config: ConfigFile): void {
  mkdirp(path.dirname(file), 0o700);
  writeFileAtomic(file, JSON.stringify(config, null, '\t') + '\n', 0o600);
}

/** Stores credentials for `registry` (replacing any it had, under any of its aliases). */
export function saveCredentials(registry: string, creds: Credentials, file = credentialsFile()): void {
  const config = readConfig(file);
  const auths = { ...(config.auths ?? {}) };
  for (const k of aliases(registry)) delete auths[k];
  auths[authKey(registry)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeConfig(file, { ...config, auths });
}

/** Forgets the credentials of `registry`; false when there were none. */
export function removeCredentials(registry: string, file = credentialsFile()): boolean {
  const config = readConfig(file);
  const auths = { ...(config.auths ?? {}) };
  let removed = false;
  for (const k of aliases(registry)) {
    if (k in auths) {
      delete auths[k];
      removed = true;
    }
  }
  if (removed) writeConfig(file, { ...config, auths });
  return removed;
}

function aliases(registry: string): string[] {
  const base =
    registry === DOCKER_HUB
      ? ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'registry-1.docker.io']
      : [registry, `https://${registry}`, `http://${registry}`];
  return base.flatMap((k) => [k, k + '/']);
}
