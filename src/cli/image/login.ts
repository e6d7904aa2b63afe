// `box login` and `box logout`: the credentials for registries, kept in a Docker-compatible
// config.json (see src/image/registry/credentials.ts).
import { BoxError } from '../../errors';
import type { Credentials } from '../../image/registry/auth';
import { bool, CommandSpec, str } from '../args';
import { parseTlsVerify, TLS_FLAG } from '../../image/registry/tls-flag';

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
      throw new BoxError(
        'login: the password on standard input is larger than 64 KiB: give the password or token alone',
      );
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export const loginCommand: CommandSpec = {
  paths: [['login']],
  summary: 'Log in to a registry: check the credentials and store them for pull and push.',
  flags: [
    { names: ['--username', '-u'], key: 'username', kind: 'string', value: 'user', description: 'user name' },
    {
      names: ['--password', '-p'],
      key: 'password',
      kind: 'string',
      value: 'password',
      description: 'password (visible to other users of this machine: prefer --password-stdin)',
    },
    {
      names: ['--password-stdin'],
      key: 'passwordStdin',
      kind: 'bool',
      description: 'read the password from standard input',
    },
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
    if (password !== undefined && bool(a, 'passwordStdin'))
      throw new BoxError('login: give --password or --password-stdin, not both');
    if (bool(a, 'passwordStdin')) {
      if (!username) throw new BoxError('login: --password-stdin needs --username');
      password = await readStdin();
    } else if (password !== undefined) {
      process.stderr.write('WARNING! Using --password via the command line is insecure. Use --password-stdin.\n');
    }
    if (username === undefined || password === undefined) {
      if (!process.stdin.isTTY)
        throw new BoxError('login: no terminal to ask for the credentials: give --username and --password-stdin');
      username ??= (await prompt('Username: ', false)).trim();
      password ??= await prompt('Password: ', true);
    }
    if (!username) throw new BoxError('login: the user name is empty');
    if (!password) throw new BoxError('login: the password is empty');
    const creds: Credentials = { username, password };
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    try {
      await new RegistryClient(host, {
        credentials: creds,
        tlsVerify: parseTlsVerify(str(a, 'tlsVerify')),
      }).checkLogin();
    } catch (err) {
      throw err instanceof BoxError
        ? new BoxError(/^login\b/.test(err.message) ? err.message : `login to ${registry}: ${err.message}`)
        : err;
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
