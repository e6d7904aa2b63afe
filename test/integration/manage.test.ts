// Managing existing containers: pause/unpause (freezer, v1 and v2), rename, top, stats, update,
// port, diff and cp (both directions, running and stopped, never escaping the container), and
// names a container chose printed with control characters escaped.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { busyboxRoot, exitOf, TestRoot, waitForOutput } from '../support/box';

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Paused: boolean; Pid: number; ExitCode: number };
  HostConfig: { Memory: number; CpuQuota: number; PidsLimit: number | null };
}

const inspect = (t: TestRoot, name: string, env?: NodeJS.ProcessEnv) =>
  (JSON.parse(t.box(['inspect', name], { env }).stdout) as Inspect[])[0];

function runDetached(t: TestRoot, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = t.box(['run', '-d', ...args], { env });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

/** Polls fn until it returns a defined value (bounded; no fixed sleeps). */
/** Polls fn until it returns a value; bounded in time (a loaded machine can be slow to start a container). */
function until<T>(fn: () => T | undefined, what: string, timeoutMs = 15_000): T {
  const deadline = Date.now() + timeoutMs;
  do {
    const v = fn();
    if (v !== undefined) return v;
  } while (Date.now() < deadline);
  throw new Error(`never happened: ${what}`);
}

const COUNTER = 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; done';
const upper = (t: TestRoot, id: string) => path.join(t.root, 'containers', id, 'upper');
const counter = (t: TestRoot, id: string) => {
  try {
    const n = Number(fs.readFileSync(path.join(upper(t, id), 'tmp', 'n'), 'utf8').trim());
    return n > 0 ? n : undefined; // the file is rewritten constantly: an empty read is not a value
  } catch {
    return undefined;
  }
};

/** While frozen, the file does not change at all (it may have been frozen between truncate and write). */
function expectFrozen(t: TestRoot, id: string): void {
  const raw = () => fs.readFileSync(path.join(upper(t, id), 'tmp', 'n'), 'utf8');
  const first = raw();
  for (let i = 0; i < 200; i++) expect(raw()).toBe(first);
}

function expectAdvancing(t: TestRoot, id: string): void {
  const first = until(() => counter(t, id), 'a counter value');
  until(() => ((counter(t, id) ?? first) > first ? true : undefined), 'the counter to advance');
}

describe('pause and unpause', () => {
  const t = busyboxRoot();

  it('freezes every process (cgroup v1 freezer) until unpause, and stop works on a paused container', () => {
    const id = runDetached(t, ['--name', 'frozen', 'busybox', 'sh', '-c', COUNTER]);
    onTestFinished(() => void t.box(['rm', '-f', 'frozen']));
    expectAdvancing(t, id);
    expect(t.box(['pause', 'frozen'])).toMatchObject({ status: 0, stdout: 'frozen\n' });
    expect(inspect(t, 'frozen').State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
    expect(t.box(['ps']).stdout).toMatch(/\(Paused\)/);
    expectFrozen(t, id);
    const again = t.box(['pause', 'frozen']);
    expect(again.status).toBe(125);
    expect(again.stderr).toMatch(/already paused/);
    expect(t.box(['unpause', 'frozen'])).toMatchObject({ status: 0, stdout: 'frozen\n' });
    expect(inspect(t, 'frozen').State.Paused).toBe(false);
    expectAdvancing(t, id);
    expect(t.box(['unpause', 'frozen']).status).toBe(125);
    const events = fs.readFileSync(path.join(t.root, 'run', 'events.jsonl'), 'utf8');
    expect(events).toMatch(/"Action":"pause"/);
    expect(events).toMatch(/"Action":"unpause"/);

    expect(t.box(['pause', 'frozen']).status).toBe(0);
    expect(t.box(['stop', '-t', '1', 'frozen']).status).toBe(0);
    expect(inspect(t, 'frozen').State).toMatchObject({ Status: 'exited', Paused: false, ExitCode: 137 });
    const stopped = t.box(['pause', 'frozen']);
    expect(stopped.status).toBe(125);
    expect(stopped.stderr).toMatch(/not running/);
    expect(t.box(['pause', 'nosuch']).status).toBe(125);
    expect(t.box(['rm', 'frozen']).status).toBe(0);
  });

  it('uses cgroup.freeze and cgroup.events on a cgroup v2 hierarchy, and rm -f removes a paused container', () => {
    const unified = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((m) =>
      fs.existsSync(path.join(m, 'cgroup.controllers')),
    )!;
    const env = { ...process.env, BOX_CGROUP_V2_MOUNT: unified };
    const id = runDetached(t, ['--name', 'frozen2', 'busybox', 'sh', '-c', COUNTER], env);
    onTestFinished(() => void t.box(['rm', '-f', 'frozen2'], { env }));
    expectAdvancing(t, id);
    expect(t.box(['pause', 'frozen2'], { env }).status).toBe(0);
    expect(fs.readFileSync(path.join(unified, 'box', id, 'cgroup.events'), 'utf8')).toMatch(/^frozen 1$/m);
    expect(inspect(t, 'frozen2', env).State.Paused).toBe(true);
    expectFrozen(t, id);
    expect(t.box(['unpause', 'frozen2'], { env }).status).toBe(0);
    expect(fs.readFileSync(path.join(unified, 'box', id, 'cgroup.events'), 'utf8')).toMatch(/^frozen 0$/m);
    expectAdvancing(t, id);
    expect(t.box(['pause', 'frozen2'], { env }).status).toBe(0);
    expect(t.box(['rm', '-f', 'frozen2'], { env }).status).toBe(0);
    expect(fs.existsSync(path.join(unified, 'box', id))).toBe(false);
  });
});

describe('rename, top, stats, update, port', () => {
  const t = busyboxRoot();

  it('rename moves the name atomically and refuses a name in use', () => {
    const id = runDetached(t, ['--name', 'old', 'busybox', 'sh', '-c', 'while :; do sleep 0.1; done']);
    runDetached(t, ['--name', 'taken', 'busybox', 'true']);
    expect(t.box(['rename', 'old', 'new'])).toMatchObject({ status: 0, stdout: '' });
    expect(inspect(t, 'new')).toMatchObject({ Id: id, Name: '/new' });
    expect(t.box(['inspect', 'old']).status).not.toBe(0);
    const r = t.box(['rename', 'new', 'taken']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/already in use/);
    expect(inspect(t, 'new').Name).toBe('/new');
    expect(t.box(['rename', 'new', 'bad/name']).status).toBe(125);
    expect(t.box(['rename', 'nosuch', 'x']).status).toBe(125);
    // the old name is free again
    expect(t.box(['rename', 'taken', 'old']).status).toBe(0);
    expect(fs.readFileSync(path.join(t.root, 'run', 'events.jsonl'), 'utf8')).toMatch(/"Action":"rename"/);
    expect(t.box(['rm', '-f', 'new', 'old']).status).toBe(0);
  });

  it('top lists the container processes as ps -ef does', () => {
    runDetached(t, ['--name', 'procs', 'busybox', 'sh', '-c', 'sleep 1000 & while :; do sleep 0.1; done']);
    const out = until(
      () => {
        const r = t.box(['top', 'procs', '-ef']);
        return r.stdout.includes('sleep 1000') ? r : undefined;
      },
      'top to show sleep 1000',
      200,
    );
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const pid = inspect(t, 'procs').State.Pid;
    const init = lines.find((l) => l.split(/\s+/)[1] === String(pid))!;
    expect(init).toMatch(/^root\s+\d+\s+\d+\s+\d+\s+\d\d:\d\d\s+\?\s+\d\d:\d\d:\d\d\s+sh -c sleep 1000 &/);
    const sleeper = lines.find((l) => l.endsWith('sleep 1000'))!;
    expect(sleeper.split(/\s+/)[2]).toBe(String(pid));
    t.box(['stop', '-t', '0', 'procs']);
    const stopped = t.box(['top', 'procs']);
    expect(stopped.status).toBe(125);
    expect(stopped.stderr).toMatch(/not running/);
    t.box(['rm', 'procs']);
  });

  it('stats --no-stream prints one table; stats streams until interrupted', async () => {
    const loop = ['sh', '-c', 'while :; do :; done'];
    runDetached(t, ['--name', 'busy', '--network', 'none', '--memory', '64m', 'busybox', ...loop]);
    const r = t.box(['stats', '--no-stream']);
    expect(r.status).toBe(0);
    const [head, row, ...more] = r.stdout.trim().split('\n');
    expect(head).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(more).toEqual([]);
    const cells = row.split(/ {2,}/);
    expect(cells[1]).toBe('busy');
    expect(Number(cells[2].replace('%', ''))).toBeGreaterThan(20); // a busy loop uses most of a CPU
    expect(cells[3]).toMatch(/^[\d.]+(B|KiB|MiB) \/ 64MiB$/);
    expect(cells[5]).toBe('0B / 0B'); // --network none: loopback only
    expect(Number(cells[7])).toBe(1);

    const child = t.start(['stats', 'busy']);
    const done = exitOf(child);
    await waitForOutput(child.stdout!, 'busy');
    let seen = '';
    child.stdout!.on('data', (d) => (seen += d));
    await waitForOutput(child.stdout!, 'busy');
    child.kill('SIGINT');
    const end = await done;
    expect(end.code).toBe(0);
    expect(seen).toMatch(/CONTAINER ID/);
    expect(t.box(['rm', '-f', 'busy']).status).toBe(0);
  });

  it('update changes the limits of a running container and records them', () => {
    runDetached(t, ['--name', 'limited', '--memory', '32m', 'busybox', 'sh', '-c', 'while :; do sleep 0.1; done']);
    const r = t.box(['update', '--memory', '96m', '--cpus', '0.5', '--pids-limit', '20', 'limited']);
    expect(r).toMatchObject({ status: 0, stdout: 'limited\n' });
    const read = (f: string) => t.box(['exec', 'limited', 'cat', f]).stdout.trim();
    expect(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
    expect(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')).toBe('50000');
    expect(read('/sys/fs/cgroup/pids/pids.max')).toBe('20');
    expect(inspect(t, 'limited').HostConfig).toMatchObject({
      Memory: 96 * 1024 * 1024,
      CpuQuota: 50000,
      PidsLimit: 20,
    });
    // shrinking works too (memory+swap is lowered after memory)
    expect(t.box(['update', '-m', '48m', 'limited']).status).toBe(0);
    expect(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(48 * 1024 * 1024));
    for (const bad of [
      ['--memory', 'lots'],
      ['--cpu-shares', '1'],
      ['--memory', '1k'],
      ['--cpuset-cpus', '0-63'],
    ]) {
      const b = t.box(['update', ...bad, 'limited']);
      expect(b.status, bad.join(' ')).toBe(125);
      expect(b.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
    }
    expect(t.box(['update', 'limited']).status).toBe(125);
    expect(inspect(t, 'limited').HostConfig.Memory).toBe(48 * 1024 * 1024);
    t.box(['stop', '-t', '0', 'limited']);
    expect(t.box(['update', '--pids-limit', '30', 'limited']).status).toBe(0);
    expect(inspect(t, 'limited').HostConfig.PidsLimit).toBe(30);
    expect(t.box(['rm', 'limited']).status).toBe(0);
  });

  it('port prints nothing for a container without published ports', () => {
    runDetached(t, ['--name', 'noports', 'busybox', 'true']);
    expect(t.box(['port', 'noports'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(t.box(['port', 'nosuch']).status).toBe(125);
    t.box(['wait', 'noports']);
    t.box(['rm', 'noports']);
  });
});

describe('diff and cp', () => {
  const t = busyboxRoot();
  let host = ''; // inside the test root, so it goes with it whatever happens
  beforeAll(() => {
    host = path.join(t.dir, 'cp-host');
    fs.mkdirSync(host);
  });
  const marker = path.join(os.tmpdir(), `box-cp-escape-${process.pid}`);
  const hostShadow = fs.readFileSync('/etc/shadow', 'utf8');

  it('diff lists additions, changes and deletions against the image, sorted', () => {
    runDetached(t, [
      '--name',
      'changed',
      'busybox',
      'sh',
      '-c',
      'rm /etc/group; mkdir -p /tmp/new/deep; echo x > /tmp/new/deep/f; echo y >> /etc/passwd; rm -r /home/app; echo done',
    ]);
    t.box(['wait', 'changed']);
    const r = t.box(['diff', 'changed']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [
        'C /etc',
        'D /etc/group',
        'C /etc/passwd',
        'C /home',
        'D /home/app',
        'C /tmp',
        'A /tmp/new',
        'A /tmp/new/deep',
        'A /tmp/new/deep/f',
        '',
      ].join('\n'),
    );
    t.box(['rm', 'changed']);
  });

  it('diff and top print the names and commands a container chose with their control characters escaped', () => {
    const script =
      'touch "/tmp/$(printf "\\033[2J")evil"; sh -c "sleep 1000; true" "$(printf "\\033]0;owned\\007")"; true';
    runDetached(t, ['--name', 'escapes', 'busybox', 'sh', '-c', script]);
    const top = until(
      () => {
        const r = t.box(['top', 'escapes']);
        return r.stdout.includes('sleep 1000') ? r : undefined;
      },
      'top to show sleep 1000',
      200,
    );
    expect(top.stdout).toContain('sh -c sleep 1000; true \\e]0;owned\\x07');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control character may be printed
    expect(top.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    const diff = t.box(['diff', 'escapes']).stdout;
    expect(diff).toContain('A /tmp/\\e[2Jevil\n');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control character may be printed
    expect(diff).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(t.box(['rm', '-f', 'escapes']).status).toBe(0);
  });

  it('cp copies files and directories both ways with modes, owners as docker does, and -a', () => {
    runDetached(t, [
      '--name',
      'files',
      'busybox',
      'sh',
      '-c',
      'mkdir -p /data/sub; echo one > /data/a; echo two > /data/sub/b; chmod 0750 /data/sub; chown -R 1000:1000 /data; echo up; while :; do sleep 0.1; done',
    ]);
    until(
      () => (t.box(['logs', 'files']).stdout.includes('up') ? true : undefined),
      'the container to be ready',
      20_000,
    );
    // container → host: a directory, recursively
    const r = t.box(['cp', 'files:/data', path.join(host, 'data')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^Successfully copied 8B to /);
    expect(fs.readFileSync(path.join(host, 'data/sub/b'), 'utf8')).toBe('two\n');
    expect(fs.statSync(path.join(host, 'data/sub')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(path.join(host, 'data/a')).uid).toBe(process.getuid!()); // the caller's, without -a
    expect(t.box(['cp', '-a', 'files:/data/a', path.join(host, 'kept')]).status).toBe(0);
    expect(fs.statSync(path.join(host, 'kept')).uid).toBe(1000);
    // host → container: a file into a directory keeps its name; owned by root unless -a
    fs.writeFileSync(path.join(host, 'script.sh'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
    fs.chownSync(path.join(host, 'script.sh'), 1000, 1000);
    expect(t.box(['cp', path.join(host, 'script.sh'), 'files:/tmp']).status).toBe(0);
    expect(t.box(['exec', 'files', 'sh', '-c', 'stat -c "%a %u" /tmp/script.sh; /tmp/script.sh']).stdout).toBe(
      '755 0\nhello\n',
    );
    expect(t.box(['cp', '-a', path.join(host, 'script.sh'), 'files:/tmp/owned.sh']).status).toBe(0);
    expect(t.box(['exec', 'files', 'stat', '-c', '%u', '/tmp/owned.sh']).stdout).toBe('1000\n');
    // a directory's contents with "/."
    expect(t.box(['cp', path.join(host, 'data') + '/.', 'files:/tmp']).status).toBe(0);
    expect(t.box(['exec', 'files', 'cat', '/tmp/a', '/tmp/sub/b']).stdout).toBe('one\ntwo\n');
    // errors: a missing source, a directory onto a file
    const missing = t.box(['cp', 'files:/nope', host]);
    expect(missing.status).toBe(125);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.box(['cp', path.join(host, 'data'), 'files:/tmp/script.sh']).status).toBe(125);
    t.box(['rm', '-f', 'files']);
  });

  it('cp never leaves a running container through symlinks or /proc magic links', () => {
    runDetached(t, [
      '--name',
      'hostile',
      'busybox',
      'sh',
      '-c',
      'echo container-shadow > /etc/shadow; ln -s / /escape; ln -s /../../../etc /dots; echo up; while :; do sleep 0.1; done',
    ]);
    until(
      () => (t.box(['logs', 'hostile']).stdout.includes('up') ? true : undefined),
      'the container to be ready',
      20_000,
    );
    const out = path.join(host, 'shadow');
    expect(t.box(['cp', 'hostile:/escape/etc/shadow', out]).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('container-shadow\n');
    expect(t.box(['cp', 'hostile:/dots/shadow', out]).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('container-shadow\n');
    fs.writeFileSync(path.join(host, 'secret'), 'secret\n');
    expect(t.box(['cp', path.join(host, 'secret'), `hostile:/escape${marker}`]).status).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    expect(t.box(['exec', 'hostile', 'cat', marker]).stdout).toBe('secret\n');
    const magic = t.box(['cp', 'hostile:/proc/1/root/etc/hostname', out]);
    expect(magic.status).toBe(125);
    expect(magic.stderr).toMatch(/leads out of the container/);
    expect(magic.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.box(['cp', path.join(host, 'secret'), 'hostile:/proc/self/root/tmp/x']).status).toBe(125);
    expect(fs.readFileSync('/etc/shadow', 'utf8')).toBe(hostShadow);

    // the same through the layers of the stopped container
    t.box(['stop', '-t', '0', 'hostile']);
    fs.rmSync(out);
    expect(t.box(['cp', 'hostile:/escape/etc/shadow', out]).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('container-shadow\n');
    expect(t.box(['cp', 'hostile:/etc/passwd', path.join(host, 'passwd')]).status).toBe(0);
    expect(fs.readFileSync(path.join(host, 'passwd'), 'utf8')).toMatch(/^root:x:0:0/);
    expect(t.box(['cp', path.join(host, 'secret'), 'hostile:/escape/home/app/x']).status).toBe(0);
    expect(fs.existsSync('/home/app/x')).toBe(false);
    const id = inspect(t, 'hostile').Id;
    expect(fs.readFileSync(path.join(upper(t, id), 'home/app/x'), 'utf8')).toBe('secret\n');
    expect(fs.statSync(path.join(upper(t, id), 'home/app')).uid).toBe(0);
    expect(t.box(['diff', 'hostile']).stdout).toMatch(/^C \/home\nC \/home\/app\nA \/home\/app\/x$/m);
    expect(t.box(['start', 'hostile']).status).toBe(0);
    expect(t.box(['exec', 'hostile', 'cat', '/home/app/x']).stdout).toBe('secret\n');
    t.box(['rm', '-f', 'hostile']);
    fs.rmSync(host, { recursive: true, force: true });
    expect(fs.existsSync(marker)).toBe(false);
  });
});
