// The container's process: command, user, environment, working directory and exit codes.
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball } from '../support/box';

describe('box run: the process', () => {
  const t = busyboxRoot();
  beforeAll(() => {
    // An image whose config sets Entrypoint, Cmd, Env, WorkingDir and User.
    const r = t.box([
      'import',
      busyboxTarball(t.dir),
      'configured:1',
      '--change',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      '--change',
      'CMD ["echo from-cmd $GREETING $(pwd) $(id -u)"]',
      '--change',
      'ENV GREETING=hello',
      '--change',
      'WORKDIR /tmp',
      '--change',
      'USER app',
    ]);
    expect(r.status).toBe(0);
  });
  const run = (...args: string[]) => t.box(['run', '--rm', ...args]);

  it("uses the image's Entrypoint, Cmd, Env, WorkingDir and User", () => {
    expect(run('configured:1').stdout).toBe('from-cmd hello /tmp 1000\n');
  });

  it('replaces Cmd with the given command and the entrypoint with --entrypoint', () => {
    expect(run('configured:1', 'echo given').stdout).toBe('given\n');
    expect(run('--entrypoint', 'echo', 'configured:1', 'a', 'b').stdout).toBe('a b\n');
  });

  it('sets a default PATH and HOME, -e, --env-file and passes host variables by name', () => {
    const envFile = `${t.dir}/env`;
    fs.writeFileSync(envFile, '# comment\nFROM_FILE=yes\n\nOVERRIDDEN=file\n');
    const r = t.box(
      [
        'run',
        '--rm',
        '--env-file',
        envFile,
        '-e',
        'OVERRIDDEN=flag',
        '-e',
        'FROM_HOST',
        '-e',
        'NOT_SET_ANYWHERE',
        'busybox',
        'env',
      ],
      {
        env: { ...process.env, FROM_HOST: 'passed' },
      },
    );
    const env = r.stdout.trim().split('\n').sort();
    expect(env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(env).toContain('HOME=/root');
    expect(env).toContain('FROM_FILE=yes');
    expect(env).toContain('OVERRIDDEN=flag');
    expect(env).toContain('FROM_HOST=passed');
    expect(env.some((e) => e.startsWith('NOT_SET_ANYWHERE'))).toBe(false);
    expect(env.find((e) => e.startsWith('HOSTNAME='))).toMatch(/^HOSTNAME=[0-9a-f]{12}$/);
  });

  it('passes an environment larger than the socket buffer the helper reads its spec from, whole', () => {
    // box writes the spec before the helper is waited on: past the buffer (~200 KiB) the write
    // must wait for the helper's reads rather than fail or cut it
    const envFile = `${t.dir}/big-env`;
    const lines = Array.from({ length: 6000 }, (_, i) => `BIG_${i}=${String(i).padStart(120, 'x')}`);
    fs.writeFileSync(envFile, `${lines.join('\n')}\n`);
    const script = 'env | grep -c ^BIG_; echo $BIG_5999';
    const r = t.box(['run', '--rm', '--env-file', envFile, 'busybox', 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`6000\n${String(5999).padStart(120, 'x')}\n`);
  });

  it('-w sets the working directory and creates it when missing', () => {
    expect(run('-w', '/var', 'busybox', 'pwd').stdout).toBe('/var\n');
    expect(run('-w', '/does/not/exist', 'busybox', 'pwd').stdout).toBe('/does/not/exist\n');
  });

  it('-u resolves names in the image, applies supplementary groups, and takes numbers as they are', () => {
    expect(run('-u', 'app', 'busybox', 'id').stdout).toBe(
      'uid=1000(app) gid=1000(app) groups=44(video),1000(app),2000(extra)\n',
    );
    expect(run('-u', 'app:extra', 'busybox', 'sh', '-c', 'id -u; id -g').stdout).toBe('1000\n2000\n');
    expect(run('-u', '4321:8765', 'busybox', 'sh', '-c', 'id -u; id -g').stdout).toBe('4321\n8765\n');
    const caps = run('-u', 'app', 'busybox', 'grep', 'CapEff', '/proc/self/status').stdout;
    expect(caps).toMatch(/CapEff:\s+0000000000000000/);
  });

  it('refuses an unknown user before creating anything', () => {
    const before = t.containerIds().length;
    const r = run('-u', 'ghost', 'busybox', 'true');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/unable to find user ghost/);
    expect(t.containerIds().length).toBe(before);
  });

  it("exits with the container's exit code", () => {
    expect(run('busybox', 'sh', '-c', 'exit 3').status).toBe(3);
    expect(run('busybox', 'true').status).toBe(0);
    expect(run('busybox', 'false').status).toBe(1);
  });

  it('exits 127 for a command missing in the image and 126 for one that cannot run', () => {
    const missing = run('busybox', 'no-such-command');
    expect(missing.status).toBe(127);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-command.*not found/);
    const notExec = run('busybox', '/bin/not-executable');
    expect(notExec.status).toBe(126);
    expect(notExec.stderr).toMatch(/permission denied/);
    const dir = run('busybox', '/tmp');
    expect(dir.status).toBe(126);
  });

  it('keeps stdout and stderr apart and passes stdin with -i', () => {
    const r = run('busybox', 'sh', '-c', 'echo out; echo err >&2');
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    const i = t.box(['run', '--rm', '-i', 'busybox', 'tr', 'a-z', 'A-Z'], { input: 'shout\n' });
    expect(i.stdout).toBe('SHOUT\n');
    const noI = t.box(['run', '--rm', 'busybox', 'cat'], { input: 'ignored\n' });
    expect(noI.stdout).toBe('');
  });

  it('--ulimit sets resource limits', () => {
    expect(run('--ulimit', 'nofile=123:456', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn').stdout).toBe('123\n456\n');
  });

  it('keeps a stopped container unless --rm, and --rm leaves nothing', () => {
    const before = t.containerIds();
    expect(t.box(['run', '--name', 'kept', 'busybox', 'sh', '-c', 'exit 4']).status).toBe(4);
    const ps = t
      .box(['ps', '-a', '--format', 'json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const kept = ps.find((c: { Names: string }) => c.Names === 'kept');
    expect(kept).toMatchObject({ State: 'exited', ExitCode: 4 });
    expect(t.box(['rm', 'kept']).status).toBe(0);
    expect(t.containerIds()).toEqual(before);
    run('busybox', 'true');
    expect(t.containerIds()).toEqual(before);
  });

  it('refuses a second container with a name in use', () => {
    expect(t.box(['run', '--name', 'dup', 'busybox', 'true']).status).toBe(0);
    const r = t.box(['run', '--name', 'dup', 'busybox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/name "dup" is already in use/);
    t.box(['rm', 'dup']);
  });
});
