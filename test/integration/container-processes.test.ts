// The processes box starts in a container give a hostile process there nothing (issue 18, items 1
// and 3): an exec'd process cannot be ptraced nor have its descriptors followed before its execve
// (runc's CVE-2016-9962), and box's own processes that stay in the container (the `--init` PID 1,
// the reaper of an exec or of a health probe) hold no host file or directory, even for a container
// with CAP_SYS_PTRACE. Nor can a container reach box's helper binary through /proc/PID/exe to
// rewrite it (runc's CVE-2019-5736).
// The caller of box holds a host directory open (fd 201, not close-on-exec) as a shell would.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, busyboxTarball, exitOf, inspectOne, nsProcesses, runDetached, until } from '../support/box';

const HOST_FD = 201;

describe('box processes in a container', () => {
  const t = busyboxRoot();
  /** A host directory the caller of box holds open. */
  let hostDir: string;

  beforeAll(() => {
    // The attacker: a static C program (test/support/ptrace-race.c) in an image of its own.
    const bin = path.join(t.dir, 'ptrace-race');
    const source = path.join(__dirname, '..', 'support', 'ptrace-race.c');
    const cc = spawnSync('cc', ['-static', '-O2', '-o', bin, source], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const tar = path.join(t.dir, 'race.tar');
    fs.copyFileSync(busyboxTarball(t.dir), tar);
    const tarArgs = ['--numeric-owner', '--owner=0', '--group=0', '-C', t.dir, '-rf', tar, './ptrace-race'];
    const add = spawnSync('tar', tarArgs, { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`tar failed: ${add.stderr}`);
    const imp = t.box(['import', tar, 'race:latest']);
    if (imp.status !== 0) throw new Error(`box import failed: ${imp.stderr}`);
    hostDir = fs.mkdtempSync(path.join(t.dir, 'host-secret-'));
  });

  /** Runs a shell script with fd 201 open on the host directory; BOX is box with this root. */
  const withHostFd = (script: string) => {
    const r = spawnSync('bash', ['-c', `exec ${HOST_FD}<"$HOST_DIR"; ${script}`], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, HOST_DIR: hostDir, BOX: `${BOX} --root ${t.root}` },
    });
    return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };

  /** `ls -l` of a /proc/PID/fd as busybox prints it: fd number -> where it leads. */
  const fdTargets = (ls: string) =>
    Object.fromEntries(
      ls
        .split('\n')
        .filter((l) => l.includes(' -> '))
        .map((l) => {
          const [left, target] = l.split(' -> ');
          return [left.split(/\s+/).pop()!, target];
        }),
    );
  /** What box's own processes may hold: pipes to the helper, the pty, /dev/null. */
  const harmless = (target: string) => /^(pipe:\[\d+\]|\/dev\/null|\/dev\/pts\/\d+)$/.test(target);

  it("a root process in the container never ptraces an exec'd process before execve, nor follows its fds", () => {
    runDetached(t, '--name', 'race', 'race', '/ptrace-race', '/tmp/stop');
    const logs = () => t.box(['logs', 'race']).stdout;
    until('the attacker polls', logs, (l) => l.includes('ready\n'));
    // The attacker can take over what it may: a process box exec'd, once it runs its own program.
    expect(t.box(['exec', '-d', 'race', 'sleep', '1000']).status).toBe(0);
    until("the attacker attached to the exec'd sleep", logs, (l) => /^attach \d+ \/bin\/busybox$/m.test(l));

    const runs = 40;
    const r = withHostFd(`for i in $(seq ${runs}); do $BOX exec race /bin/true || echo "exec failed: $?"; done`);
    expect(t.box(['exec', 'race', 'touch', '/tmp/stop']).status).toBe(0);
    const out = until('the attacker is done', logs, (l) => /^done \d+$/m.test(l));
    const lines = out.trim().split('\n');
    // every attach was to busybox after its execve, never to box's helper code (memfd:box-helper)
    expect(lines.filter((l) => l.startsWith('attach ') && !/^attach \d+ (\/bin\/busybox)?$/.test(l))).toEqual([]);
    // no descriptor above 2 of any process could be followed: the caller's fd 201 above all
    expect(lines.filter((l) => l.startsWith('fd '))).toEqual([]);
    // it did see the processes of the execs (a reaper and a command per exec, some very short)
    expect(Number(/^done (\d+)$/m.exec(out)![1])).toBeGreaterThanOrEqual(runs);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(t.box(['rm', '-f', 'race']).status).toBe(0);
  });

  it("a stopped exec'd process holds only fds 0-2, its reaper nothing of the host", async () => {
    const id = runDetached(t, '--cap-add', 'SYS_PTRACE', 'busybox', 'sleep', '1000');
    const pid = inspectOne<{ State: { Pid: number } }>(t, id).State.Pid;
    const boxExec = [BOX, '--root', t.root, 'exec', id, 'sh', '-c', 'kill -STOP $$'];
    const exec = spawn('bash', ['-c', `exec ${HOST_FD}<"$HOST_DIR"; exec "$@"`, 'bash', ...boxExec], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOST_DIR: hostDir },
    });
    const done = exitOf(exec);
    const isStoppedSh = (p: { comm: string; state: string }) => p.comm === 'sh' && p.state === 'T';
    const stopped = until(
      "the exec'd sh stops itself",
      () => nsProcesses(pid),
      (ps) => ps.some(isStoppedSh),
    ).find(isStoppedSh)!.pid;
    const fds = (p: number) =>
      Object.fromEntries(fs.readdirSync(`/proc/${p}/fd`).map((fd) => [fd, fs.readlinkSync(`/proc/${p}/fd/${fd}`)]));
    expect(Object.keys(fds(stopped)).sort()).toEqual(['0', '1', '2']);
    const reaper = Number(fs.readFileSync(`/proc/${stopped}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    expect(Object.values(fds(reaper)).filter((target) => !harmless(target))).toEqual([]);
    // the same seen from inside, by a process with CAP_SYS_PTRACE
    const nspid = fs.readFileSync(`/proc/${reaper}/status`, 'utf8').match(/^NSpid:.*\s(\d+)$/m)![1];
    const ls = t.box(['exec', id, 'ls', '-l', `/proc/${nspid}/fd`]);
    expect(ls.status).toBe(0);
    expect(Object.values(fdTargets(ls.stdout)).filter((target) => !harmless(target))).toEqual([]);
    process.kill(stopped, 'SIGKILL');
    expect((await done).code).toBe(137);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it('the --init PID 1 holds no host file or directory, in the foreground and detached (not the log)', () => {
    const fg = withHostFd('$BOX run --rm --init --cap-add SYS_PTRACE busybox ls -l /proc/1/fd');
    expect(fg.stderr).toBe('');
    expect(fg.status).toBe(0);
    const fgTargets = fdTargets(fg.stdout);
    expect(Object.keys(fgTargets).length).toBeGreaterThan(0); // it could read them: it has CAP_SYS_PTRACE
    expect(Object.values(fgTargets).filter((target) => !harmless(target))).toEqual([]);

    const d = withHostFd('$BOX run -d --init --cap-add SYS_PTRACE busybox sleep 1000');
    expect(d.status).toBe(0);
    const id = d.stdout.trim();
    const ls = t.box(['exec', id, 'ls', '-l', '/proc/1/fd']);
    expect(ls.status).toBe(0);
    const targets = fdTargets(ls.stdout);
    expect(Object.keys(targets).length).toBeGreaterThan(0);
    expect(Object.values(targets).filter((target) => !harmless(target))).toEqual([]);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it("a health probe's reaper holds no host file or directory", () => {
    const probe = ['--health-cmd', 'ls -l /proc/$PPID/fd', '--health-interval', '100ms'];
    const id = runDetached(t, '--cap-add', 'SYS_PTRACE', ...probe, 'busybox', 'sleep', '1000');
    type Health = { State: { Health?: { Log: { Output: string; ExitCode: number }[] } } };
    const log = until(
      'a probe ran',
      () => inspectOne<Health>(t, id).State.Health?.Log ?? [],
      (l) => l.length > 0,
    )[0];
    expect(log.ExitCode).toBe(0);
    const targets = fdTargets(log.Output);
    expect(Object.keys(targets).length).toBeGreaterThan(0);
    expect(Object.values(targets).filter((target) => !harmless(target))).toEqual([]);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it("a container cannot rewrite box's helper through /proc/PID/exe, even holding it open (CVE-2019-5736)", () => {
    // The CVE's way in: the container's command is /proc/self/exe, so its PID 1 runs box's helper
    // binary in the container (`delay`: it sleeps, then would exec /bin/sleep), where a root
    // process opens it through /proc/1/exe and writes to it through that descriptor.
    const cache = path.join(t.root, 'cache');
    const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const helpers = () =>
      fs
        .readdirSync(cache)
        .filter((n) => n.startsWith('box-helper-'))
        .map((n) => `${n} ${sha256(path.join(cache, n))}`);
    const id = runDetached(t, 'busybox', '/proc/self/exe', 'delay', '60000', '/bin/sleep', '1000');
    const before = helpers();
    expect(before.length).toBeGreaterThan(0);
    const probe = 'exec 3</proc/1/exe && printf x >>/proc/self/fd/3 && echo wrote; cat /proc/1/cmdline | tr "\\0" " "';
    const r = t.box(['exec', id, 'sh', '-c', probe]);
    expect(r.stdout).toBe('/proc/self/exe delay 60000 /bin/sleep 1000 ');
    // read-only whether or not anything runs it: not the "Text file busy" of a running binary
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(helpers()).toEqual(before);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });
});
