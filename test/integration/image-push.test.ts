// box push, login and logout against Debian's docker-registry on 127.0.0.1: a pushed image is
// what skopeo reads back (same config digest and diff_ids) and pulls into a fresh root with the
// same id and runs; login checks the credentials with the registry (htpasswd basic auth) before
// storing them 0600 in a Docker config.json, which pull and push then use; the same with bearer
// tokens (test/support/token-server.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BOX, busyboxTarball, REPO, TestRoot } from '../support/box';
import { helloLayout, Registry, run, startRegistry, stopRegistry } from '../support/registry';
import { startTokenServer, TokenServer } from '../support/token-server';

const t = new TestRoot('box-push-');
const registries: Registry[] = [];
let plain: Registry;
let locked: Registry;
let imageId: string;
let diffIds: string[];
let authFile: string;

const box = (root: TestRoot, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(BOX, root.args(args), {
    encoding: 'utf8',
    timeout: 120_000,
    input: opts.input,
    env: { ...process.env, BOX_CONFIG: authFile, ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(async () => {
  authFile = path.join(t.dir, 'auth', 'config.json');
  // Two layers from umoci (busybox; a new file and a deletion), loaded into box.
  const layout = helloLayout(t.dir, busyboxTarball(t.dir), 'pushed and pulled\n');
  const archive = path.join(t.dir, 'in.tar');
  run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${archive}:push/img:1`]);
  expect(box(t, ['load', '-i', archive]).stderr).toBe('');
  imageId = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:v1`])).config.digest;
  diffIds = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:v1`])).rootfs.diff_ids;

  plain = await startRegistry(path.join(t.dir, 'reg-plain'));
  registries.push(plain);
  const htpasswd = path.join(t.dir, 'htpasswd');
  run('htpasswd', ['-Bbc', htpasswd, 'alice', 'wonderland']);
  locked = await startRegistry(
    path.join(t.dir, 'reg-basic'),
    `auth:\n  htpasswd:\n    realm: box-test\n    path: ${htpasswd}\n`,
  );
  registries.push(locked);
});

afterAll(async () => {
  for (const r of registries) await stopRegistry(r);
  t.cleanup();
});

/** box, without blocking this process (the token server runs in it). */
function boxAsync(
  root: TestRoot,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(BOX, root.args(args), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BOX_CONFIG: authFile, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}

const skopeoConfig = (ref: string, creds?: string) =>
  JSON.parse(
    run('skopeo', [
      'inspect',
      '--tls-verify=false',
      ...(creds ? ['--creds', creds] : []),
      '--config',
      `docker://${ref}`,
    ]),
  );
const skopeoRaw = (ref: string, creds?: string) =>
  JSON.parse(
    run('skopeo', ['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), '--raw', `docker://${ref}`]),
  );

describe('box push', () => {
  it('pushes gzip layers and an OCI manifest that skopeo reads; box pull into a fresh root gives the same id, and it runs', () => {
    const ref = `${plain.host}/team/img:1`;
    expect(box(t, ['tag', 'push/img:1', ref]).status).toBe(0);
    const r = box(t, ['push', ref]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(r.stdout)?.[1];
    expect(digest).toBeDefined();
    expect(r.stdout.match(/: Pushed$/gm)).toHaveLength(2);

    const raw = skopeoRaw(ref);
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(raw.config.digest).toBe(imageId);
    expect(raw.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(
      Array(2).fill('application/vnd.oci.image.layer.v1.tar+gzip'),
    );
    expect(skopeoConfig(ref).rootfs.diff_ids).toEqual(diffIds);
    expect(JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).Digest).toBe(digest);
    // The image now has that digest here too, as after a pull.
    expect(JSON.parse(box(t, ['image', 'inspect', ref]).stdout)[0].RepoDigests).toContain(
      `${plain.host}/team/img@${digest}`,
    );

    const fresh = new TestRoot('box-push2-');
    try {
      const pulled = box(fresh, ['pull', '-q', ref]);
      expect(pulled.stderr).toBe('');
      expect(pulled.stdout.trim()).toBe(imageId);
      const ran = box(fresh, ['run', '--rm', ref]);
      expect(ran.stderr).toBe('');
      expect(ran.stdout).toBe('pushed and pulled\n');
      expect(box(fresh, ['run', '--rm', ref, '/bin/busybox', 'ls', '/bin/not-executable']).status).not.toBe(0);
    } finally {
      fresh.cleanup();
    }

    // Again, and under another name in the same registry: nothing is uploaded twice.
    const again = box(t, ['push', ref]);
    expect(again.stdout.match(/: Layer already exists$/gm)).toHaveLength(2);
    expect(again.stdout).toContain(`1: digest: ${digest} `);
    const other = `${plain.host}/team/img:other`;
    expect(box(t, ['tag', 'push/img:1', other]).status).toBe(0);
    const second = box(t, ['push', other]);
    expect(second.stderr).toBe('');
    expect(second.stdout.match(/: Layer already exists$/gm)).toHaveLength(2);
    expect(skopeoRaw(other).config.digest).toBe(imageId);
  });

  it('a name with no local image, or a digest, is a clear error', () => {
    const r = box(t, ['push', `${plain.host}/team/none:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      `box: push: no such image: ${plain.host}/team/none:1 (give it that name first: box tag IMAGE ${plain.host}/team/none:1)\n`,
    );
    const d = box(t, ['push', `${plain.host}/team/img@sha256:${'a'.repeat(64)}`]);
    expect(d.stderr).toMatch(/push a tag, not a digest/);
  });
});

describe('box login and logout (htpasswd basic auth)', () => {
  it('refuses a wrong password, writing nothing; stores the right one 0600, keeping what the file had', () => {
    const ref = `${locked.host}/private/img:1`;
    expect(box(t, ['tag', 'push/img:1', ref]).status).toBe(0);
    const denied = box(t, ['push', ref]);
    expect(denied.status).toBe(125);
    expect(denied.stderr).toContain(
      `${locked.host} requires a login (basic authentication): run box login ${locked.host}`,
    );

    const wrong = box(t, ['login', '-u', 'alice', '--password-stdin', locked.host], { input: 'nope\n' });
    expect(wrong.status).toBe(125);
    expect(wrong.stderr).toBe(
      `box: login to ${locked.host}: the credentials of "alice" were refused: UNAUTHORIZED (authentication required)\n`,
    );
    expect(fs.existsSync(authFile)).toBe(false);

    fs.mkdirSync(path.dirname(authFile), { recursive: true });
    fs.writeFileSync(
      authFile,
      JSON.stringify({ auths: { 'other.example': { auth: 'eDp5' } }, psFormat: 'table {{.ID}}' }),
    );
    const ok = box(t, ['login', '-u', 'alice', '--password-stdin', `http://${locked.host}/`], {
      input: 'wonderland\n',
    });
    expect(ok.stderr).toBe(`Credentials stored in ${authFile}\n`);
    expect(ok.stdout).toBe('Login Succeeded\n');
    expect(fs.statSync(authFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(authFile, 'utf8'))).toEqual({
      auths: {
        'other.example': { auth: 'eDp5' },
        [locked.host]: { auth: Buffer.from('alice:wonderland').toString('base64') },
      },
      psFormat: 'table {{.ID}}',
    });
    // -p works too, with Docker's warning.
    const p = box(t, ['login', '-u', 'alice', '-p', 'wonderland', locked.host]);
    expect(p.status).toBe(0);
    expect(p.stderr).toMatch(/^WARNING! Using --password via the command line is insecure/);
  });

  it('push and pull use the stored credentials; logout forgets them', () => {
    const ref = `${locked.host}/private/img:1`;
    const pushed = box(t, ['push', ref]);
    expect(pushed.stderr).toBe('');
    expect(pushed.status).toBe(0);
    expect(skopeoRaw(ref, 'alice:wonderland').config.digest).toBe(imageId);
    const fresh = new TestRoot('box-push3-');
    try {
      const pulled = box(fresh, ['pull', '-q', ref]);
      expect(pulled.stderr).toBe('');
      expect(pulled.stdout.trim()).toBe(imageId);
      const out = box(t, ['logout', locked.host]);
      expect(out.stdout).toBe(`Removing login credentials for ${locked.host}\n`);
      expect(JSON.parse(fs.readFileSync(authFile, 'utf8')).auths).toEqual({ 'other.example': { auth: 'eDp5' } });
      expect(box(t, ['logout', locked.host]).stdout).toBe(`Not logged in to ${locked.host}\n`);
      const refused = box(fresh, ['pull', '-q', ref]);
      expect(refused.status).toBe(125);
      expect(refused.stderr).toContain('requires a login');
    } finally {
      fresh.cleanup();
    }
  });

  it('without a terminal, login needs its credentials on the command line', () => {
    const r = box(t, ['login', locked.host], { input: '' });
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('box: login: no terminal to ask for the credentials: give --username and --password-stdin\n');
    expect(box(t, ['login', '--password-stdin', locked.host], { input: 'x' }).stderr).toBe(
      'box: login: --password-stdin needs --username\n',
    );
    // Standard input without end (/dev/zero) and a credentials file that is no file are refused, not read forever.
    const zero = fs.openSync('/dev/zero', 'r');
    try {
      const args = t.args(['login', '-u', 'alice', '--password-stdin', locked.host]);
      const endless = spawnSync(BOX, args, { encoding: 'utf8', timeout: 60_000, stdio: [zero, 'pipe', 'pipe'] });
      expect(endless.stderr).toBe(
        'box: login: the password on standard input is larger than 64 KiB: give the password or token alone\n',
      );
      expect(endless.status).toBe(125);
    } finally {
      fs.closeSync(zero);
    }
    const device = box(t, ['pull', `${locked.host}/private/img:1`], { env: { BOX_CONFIG: '/dev/zero' } });
    expect(device.stderr).toBe(
      'box: cannot read credentials file "/dev/zero" (a character device, not a regular file): give a Docker config.json\n',
    );
    expect(device.status).toBe(125);
    const nullFile = path.join(t.dir, 'null-config.json');
    fs.writeFileSync(nullFile, 'null');
    const nul = box(t, ['pull', `${locked.host}/private/img:1`], { env: { BOX_CONFIG: nullFile } });
    expect(nul.stderr).toBe(`box: cannot read credentials from ${nullFile}: not a JSON object\n`);
  });
});

describe('login and push with bearer tokens', () => {
  let tokens: TokenServer;
  let tokenReg: Registry;
  let env: NodeJS.ProcessEnv;
  let file: string;

  beforeAll(async () => {
    tokens = await startTokenServer(path.join(t.dir, 'token'));
    tokenReg = await startRegistry(path.join(t.dir, 'reg-token'), tokens.authYaml);
    registries.push(tokenReg);
    file = path.join(t.dir, 'token-auth.json');
    env = { BOX_CONFIG: file };
  });

  afterAll(async () => {
    await tokens?.close();
  });

  it('login asks the token service with the credentials; push gets a pull,push token; pull uses the stored login', async () => {
    const wrong = await boxAsync(t, ['login', '-u', 'bob', '--password-stdin', tokenReg.host], { input: 'wrong', env });
    expect(wrong.status).toBe(125);
    expect(wrong.stderr).toBe(
      `box: login to ${tokenReg.host}: the token service 127.0.0.1:${tokens.port} refused the credentials of "bob" (HTTP 401)\n`,
    );
    expect(fs.existsSync(file)).toBe(false);

    tokens.requests.length = 0;
    const ok = await boxAsync(t, ['login', '-u', 'bob', '--password-stdin', tokenReg.host], {
      input: 'builder\n',
      env,
    });
    expect(ok.stdout).toBe('Login Succeeded\n');
    expect(tokens.requests).toEqual([{ scope: [], user: 'bob', account: 'bob' }]);

    const ref = `${tokenReg.host}/secret/img:1`;
    expect(box(t, ['tag', 'push/img:1', ref]).status).toBe(0);
    tokens.requests.length = 0;
    const pushed = await boxAsync(t, ['push', ref], { env });
    expect(pushed.stderr).toBe('');
    expect(pushed.status).toBe(0);
    // One token for the whole push: the client caches it for the scope.
    expect(tokens.requests).toEqual([{ scope: ['repository:secret/img:pull,push'], user: 'bob', account: 'bob' }]);

    const fresh = new TestRoot('box-push4-');
    try {
      const pulled = await boxAsync(fresh, ['pull', '-q', ref], { env });
      expect(pulled.stderr).toBe('');
      expect(pulled.stdout.trim()).toBe(imageId);
      const anonymous = await boxAsync(fresh, ['pull', '-q', ref], {
        env: { BOX_CONFIG: path.join(t.dir, 'none.json') },
      });
      expect(anonymous.status).toBe(125);
      expect(anonymous.stderr).toMatch(/authentication required|access denied/);
    } finally {
      fresh.cleanup();
    }
  });
});

describe('on a terminal', () => {
  const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');

  it('login asks for the password without echoing it', () => {
    const file = path.join(t.dir, 'tty-auth.json');
    const r = spawnSync(
      'python3',
      [
        driver,
        '--send-after',
        'Password: ',
        '--send',
        'wonderland\r',
        '--',
        BOX,
        ...t.args(['login', '-u', 'alice', locked.host]),
      ],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, BOX_CONFIG: file },
      },
    );
    const out = JSON.parse(r.stdout) as { output: string; status: number; termiosRestored: boolean };
    expect(out.output).toContain('Login Succeeded');
    expect(out.output).not.toContain('wonderland');
    expect(out.status).toBe(0);
    expect(out.termiosRestored).toBe(true);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).auths[locked.host].auth).toBe(
      Buffer.from('alice:wonderland').toString('base64'),
    );
  });
});
