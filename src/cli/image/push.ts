// `box push`, `box login` and `box logout`: sending images to registries and the credentials for
// them (kept in a Docker-compatible config.json: see src/image/registry/credentials.ts).
import { BoxError } from '../../errors';
import type { Credentials } from '../../image/registry/auth';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { parseTlsVerify, TLS_FLAG } from '../../image/registry/tls-flag';

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

export const pushCommand: CommandSpec = {
  paths: [['push'], ['image', 'push']],
  summary: 'Push an image to a registry (by the name it has here: tag it first).',
  flags: [{ names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'print nothing but errors' }, TLS_FLAG],
  positionals: [{ name: 'NAME[:TAG]' }],
  examples: ['box tag app:1 registry.local:5000/team/app:1 && box push registry.local:5000/team/app:1'],
  async run(a) {
    const { pushImage } = await import('../../image/registry/push');
    const { findCredentials } = await import('../../image/registry/credentials');
    const { parseRemoteRef } = await import('../../image/registry/reference');
    const { ImageStore } = await import('../../image/store');
    const ref = a.positionals[0];
    const remote = parseRemoteRef(ref);
    const quiet = bool(a, 'quiet');
    const out = (s: string) => quiet || process.stdout.write(s);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await pushImage(new ImageStore(roots()), ref, {
        tlsVerify: parseTlsVerify(str(a, 'tlsVerify')),
        credentials: findCredentials(remote.registry),
        signal: abort.signal,
        onEvent: (e) => {
          switch (e.type) {
            case 'resolved':
              return out(`The push refers to repository [${e.ref.replace(/:[^:/]*$/, '')}]\n`);
            case 'layer-exists':
              return out(`${short(e.diffId)}: Layer already exists\n`);
            case 'layer-pushing':
              return out(`${short(e.diffId)}: Pushing ${e.size} bytes\n`);
            case 'layer-pushed':
              return out(`${short(e.diffId)}: Pushed\n`);
            case 'done':
              return out(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
          }
        },
      });
    } catch (err) {
      if (abort.signal.aborted) throw new BoxError(`push ${ref}: interrupted`, 130);
      throw err instanceof BoxError ? err : new BoxError(`push ${ref}: ${(err as Error).message}`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};

/** Reads a line from the terminal; with `hidden`, without echoing it. */
function prompt(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let line = '';
    const wasRaw = stdin.isRaw;
    if (hidden) stdin.setRawMode(true); // before the prompt: whatever is typed after it is not echoed
    process.stderr.write(question);
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.off('data', onData);
      if (hidden) {
        stdin.setRawMode(wasRaw);
        process.stderr.write('\n');
      }
      stdin.pause();
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new BoxError('login: cancelled', 130));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** A password or token is a few kilobytes at most: more (as from /dev/zero) is refused, not read without end. */
const PASSWORD_MAX = 64 * 1024;

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin) {
    total += (c as Buffer).length;
    if (total > PASSWORD_MAX) {
      throw new BoxError('login: the password on standard input is larger than 64 KiB: give the password or token alone');
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

export const loginCommand: CommandSpec = {
  paths: [['login']],
  summary: 'Log in to a registry: check the credentials and store them for pull and push.',
  flags: [
    { names: ['--username', '-u'], key: 'username', kind: 'string', value: 'user', description: 'user name' },
    { names: ['--password', '-p'], key: 'password', kind: 'string', value: 'password', description: 'password (visible to other users of this machine: prefer --password-stdin)' },
    { names: ['--password-stdin'], key: 'passwordStdin', kind: 'bool', description: 'read the password from standard input' },
    TLS_FLAG,
  ],
  positionals: [{ name: 'REGISTRY', optional: true }],
  examples: ['echo "$TOKEN" | box login -u ci --password-stdin registry.example:5000'],
  async run(a) {
    const { RegistryClient } = await import('../../image/registry/client');
    const { credentialsFile, normaliseRegistry, saveCredentials } = await import('../../image/registry/credentials');
    const registry = normaliseRegistry(a.positionals[0] ?? 'docker.io');
    let username = str(a, 'username');
    let password = str(a, 'password');
    if (password !== undefined && bool(a, 'passwordStdin')) throw new BoxError('login: give --password or --password-stdin, not both');
    if (bool(a, 'passwordStdin')) {
      if (!username) throw new BoxError('login: --password-stdin needs --username');
      password = await readStdin();
    } else if (password !== undefined) {
      process.stderr.write('WARNING! Using --password via the command line is insecure. Use --password-stdin.\n');
    }
    if (username === undefined || password === undefined) {
      if (!process.stdin.isTTY) throw new BoxError('login: no terminal to ask for the credentials: give --username and --password-stdin');
      username ??= (await prompt('Username: ', false)).trim();
      password ??= await prompt('Password: ', true);
    }
    if (!username) throw new BoxError('login: the user name is empty');
    if (!password) throw new BoxError('login: the password is empty');
    const creds: Credentials = { username, password };
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    try {
      await new RegistryClient(host, { credentials: creds, tlsVerify: parseTlsVerify(str(a, 'tlsVerify')) }).checkLogin();
    } catch (err) {
      throw err instanceof BoxError ? new BoxError(/^login\b/.test(err.message) ? err.message : `login to ${registry}: ${err.message}`) : err;
    }
    saveCredentials(registry, creds);
    process.stderr.write(`Credentials stored in ${credentialsFile()}\n`);
    process.stdout.write('Login Succeeded\n');
    return 0;
  },
};

export const logoutCommand: CommandSpec = {
  paths: [['logout']],
  summary: 'Log out from a registry: forget its stored credentials.',
  flags: [],
  positionals: [{ name: 'REGISTRY', optional: true }],
  async run(a) {
    const { normaliseRegistry, removeCredentials } = await import('../../image/registry/credentials');
    const registry = normaliseRegistry(a.positionals[0] ?? 'docker.io');
    if (removeCredentials(registry)) process.stdout.write(`Removing login credentials for ${registry}\n`);
    else process.stdout.write(`Not logged in to ${registry}\n`);
    return 0;
  },
};
