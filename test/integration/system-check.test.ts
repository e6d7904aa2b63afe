// `box system check [--fix]` (issue 16, "Leaks found and mended"): each kind of leftover is made
// on purpose (a killed monitor, a record removed by hand, a stray mount, a cgroup directory, a
// stopped back-off, a dead writer's temporary file...), `check` reports it with exit 1, `--fix`
// removes it, as the kernel's own view confirms (/proc/self/mountinfo, /sys/fs/cgroup, /proc,
// `ip link`, `nft list table`), and a second `check` finds nothing. A root whose containers run
// reports nothing: no live object is ever taken for a leftover.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BOX,
  busyboxRoot,
  cgroupDirsOf,
  helperProcesses,
  leftovers,
  mountsUnder,
  Result,
  runDetached,
  snapshot,
  TestRoot,
  until,
} from '../support/box';
import { hostLinks, nftTable, vethsOf } from '../support/network';
import { rootTag } from '../../src/network/kernel-names';

interface Finding {
  kind: string;
  object: string;
  reason: string;
  fixed?: boolean;
  error?: string;
}

function check(t: TestRoot, ...flags: string[]): { r: Result; findings: Finding[] } {
  const r = t.box(['system', 'check', '--format', 'json', ...flags], { timeout: 60_000 });
  expect(r.stderr).not.toMatch(/Error|at \w+ \(/); // no stack trace
  const findings = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Finding);
  return { r, findings };
}

/** check finds what `expected` describes (exit 1), --fix removes all of it (exit 0), a second check is clean. */
function findAndFix(t: TestRoot, expected: Partial<Finding>[]): Finding[] {
  const found = check(t);
  for (const e of expected) expect(found.findings).toContainEqual(expect.objectContaining(e));
  expect(found.r.status).toBe(1);
  const fixed = check(t, '--fix');
  expect(fixed.findings.filter((f) => !f.fixed)).toEqual([]);
  expect(fixed.r.status).toBe(0);
  const again = check(t);
  expect(again.findings).toEqual([]);
  expect(again.r.status).toBe(0);
  return found.findings;
}

function alive(pid: number): boolean {
  try {
    return !/^[ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]);
  } catch {
    return false;
  }
}

function procState(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
  } catch {
    return 'gone';
  }
}

function recordState(t: TestRoot, id: string): { status: string; monitorPid?: number; restarting?: boolean } {
  const file = path.join(t.root, 'containers', id, 'container.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { state: { status: string } }).state;
}

/** Every cgroup hierarchy's mount point, from the kernel's mount table. */
function cgroupMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1]);
}

describe('box system check', () => {
  const t = busyboxRoot();

  it('reports nothing, exit 0, while containers run (detached, foreground, paused)', async () => {
    const a = runDetached(t, '--name', 'live-a', 'busybox', 'sleep', '1000');
    runDetached(t, '--name', 'live-b', '--restart', 'always', 'busybox', 'sleep', '1000');
    runDetached(t, '--name', 'live-p', 'busybox', 'sleep', '1000');
    expect(t.box(['pause', 'live-p']).status).toBe(0);
    // started as a user of the default root would: the root named by the environment, not --root
    const fg = spawn(BOX, ['run', '--name', 'live-fg', 'busybox', 'sleep', '1000'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BOX_ROOT: t.root },
    });
    until(
      'the foreground container running',
      () => t.box(['ps', '--filter', 'name=live-fg', '-q']).stdout.trim(),
      (s) => s !== '',
    );
    const exec = t.start(['exec', a, 'sleep', '1000']);
    until(
      'the exec running',
      () => spawnSync('pgrep', ['-f', '^sleep 1000$'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length,
      (n) => n >= 5,
    );
    try {
      const { r, findings } = check(t);
      expect(findings).toEqual([]);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(0);
      // the plain text form says the same: nothing
      const text = t.box(['system', 'check']);
      expect(text.stdout).toBe('');
      expect(text.status).toBe(0);
    } finally {
      exec.kill('SIGKILL');
      fg.kill('SIGKILL');
      expect(t.box(['rm', '-f', 'live-a', 'live-b', 'live-p', 'live-fg']).status).toBe(0);
    }
  });

  it('a stray mount under the storage root: reported, unmounted by --fix', () => {
    const dir = path.join(t.root, 'volumes', 'stray');
    fs.mkdirSync(dir, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', 'none', dir]).status).toBe(0);
    try {
      findAndFix(t, [{ kind: 'mount', object: dir }]);
      expect(mountsUnder(t.root)).toEqual([]);
    } finally {
      if (mountsUnder(t.root).includes(dir)) spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a mount in a volume's data (a user's own storage for the volume) is no leftover", () => {
    expect(t.box(['volume', 'create', 'nfsish']).status).toBe(0);
    const data = path.join(t.root, 'volumes', 'nfsish', '_data');
    expect(spawnSync('mount', ['-t', 'tmpfs', 'none', data]).status).toBe(0);
    try {
      expect(check(t).findings).toEqual([]);
    } finally {
      spawnSync('umount', ['-l', data]);
      expect(t.box(['volume', 'rm', 'nfsish']).status).toBe(0);
    }
  });

  it("a tmpfs volume's tmpfs: no leftover while a container holds it, unmounted by --fix once none does", () => {
    expect(t.box(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'shm']).status).toBe(0);
    const data = fs.realpathSync(path.join(t.root, 'volumes', 'shm', '_data'));
    const id = runDetached(t, '-v', 'shm:/t', 'busybox', 'sleep', '1000');
    expect(mountsUnder(data)).toEqual([data]);
    expect(check(t).findings).toEqual([]);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
    expect(mountsUnder(data)).toEqual([]);
    // as a start killed after it mounted the tmpfs: its holder has no container (nor a start at work)
    const holders = path.join(t.root, 'run', 'volume-mounts', 'shm');
    fs.mkdirSync(holders, { recursive: true });
    fs.writeFileSync(path.join(holders, 'd'.repeat(64)), '');
    expect(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', data]).status).toBe(0);
    try {
      const found = findAndFix(t, [{ kind: 'mount', object: data }]);
      const reason = found.find((f) => f.object === data)?.reason;
      expect(reason).toBe('the tmpfs of volume shm, which no container that uses it holds any more');
      expect(mountsUnder(data)).toEqual([]);
      expect(fs.existsSync(holders)).toBe(false);
    } finally {
      if (mountsUnder(data).length) spawnSync('umount', ['-l', data]);
      expect(t.box(['volume', 'rm', 'shm']).status).toBe(0);
    }
  });

  it("a container's cgroups left in every hierarchy after it ended: reported, removed by --fix", () => {
    const id = runDetached(t, '--name', 'cg', 'busybox', 'true');
    until(
      'cg to exit',
      () => recordState(t, id).status,
      (s) => s === 'exited',
    );
    expect(cgroupDirsOf(id)).toEqual([]);
    const made = cgroupMounts().map((m) => path.join(m, 'box', id));
    for (const d of made) fs.mkdirSync(d, { recursive: true });
    // one per hierarchy (a hierarchy mounted at two places, cpu and cpuacct, counts once)
    const hierarchies = new Set(made.map((d) => fs.realpathSync(d))).size;
    try {
      const found = findAndFix(t, [{ kind: 'cgroup', object: made[0] }]).filter((f) => f.kind === 'cgroup');
      expect(found).toHaveLength(hierarchies);
      for (const f of found) expect(made).toContain(f.object);
      expect(cgroupDirsOf(id)).toEqual([]);
    } finally {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
      t.box(['rm', '-f', id]);
    }
  });

  it("another root's cgroup (an id this root never made) is never reported", () => {
    const other = 'c'.repeat(64);
    const dir = path.join(cgroupMounts()[0], 'box', other);
    fs.mkdirSync(dir, { recursive: true });
    try {
      const { r, findings } = check(t);
      expect(findings).toEqual([]);
      expect(r.status).toBe(0);
      expect(fs.existsSync(dir)).toBe(true);
    } finally {
      fs.rmdirSync(dir);
    }
  });

  it('a killed monitor: the container is reported, --fix records its end and removes its processes and cgroups', () => {
    const id = runDetached(t, '--name', 'orphan', 'busybox', 'sleep', '1000');
    const monitor = recordState(t, id).monitorPid!;
    process.kill(monitor, 'SIGKILL');
    until(
      'the monitor to be gone',
      () => alive(monitor),
      (a) => !a,
    );
    findAndFix(t, [{ kind: 'container', reason: "it is recorded running, but its monitor or 'box run' is gone" }]);
    expect(recordState(t, id).status).toBe('exited');
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(t.box(['rm', 'orphan']).status).toBe(0);
  });

  it("a running container's record removed by hand: its monitor, cgroups, runtime dir and lock go with --fix", () => {
    const id = runDetached(t, '--name', 'unrecorded', 'busybox', 'sleep', '1000');
    const { monitorPid } = recordState(t, id);
    fs.rmSync(path.join(t.root, 'containers', id), { recursive: true });
    fs.rmSync(path.join(t.root, 'names', 'unrecorded'), { force: true });
    const found = findAndFix(t, [
      { kind: 'process', reason: 'helper or monitor serving no live container' },
      { kind: 'runtime-dir', object: path.join(t.root, 'run', 'containers', `${id}.state`) },
    ]);
    expect(found.some((f) => f.kind === 'cgroup' && f.object.endsWith(id))).toBe(true);
    expect(alive(monitorPid!)).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(helperProcesses(t)).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'run', 'containers'))).toEqual([]);
  });

  it("a running container's record and the whole runtime root wiped: found from the kernel's view alone", () => {
    const id = runDetached(t, '--name', 'wiped-run', 'busybox', 'sleep', '1000');
    const { monitorPid } = recordState(t, id);
    const links = vethsOf(id);
    expect(links).toHaveLength(1);
    fs.rmSync(path.join(t.root, 'containers', id), { recursive: true });
    fs.rmSync(path.join(t.root, 'names', 'wiped-run'), { force: true });
    fs.rmSync(path.join(t.root, 'run'), { recursive: true });
    const found = findAndFix(t, [
      { kind: 'process', object: expect.stringContaining(`pid ${monitorPid} `) as unknown as string },
      { kind: 'veth', object: links[0] },
      { kind: 'address', reason: `allocated to container ${id.slice(0, 12)}, but the container does not exist` },
    ]);
    expect(found.some((f) => f.kind === 'cgroup' && f.object.endsWith(id))).toBe(true);
    expect(alive(monitorPid!)).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    until(
      'its veth to go',
      () => vethsOf(id),
      (v) => v.length === 0,
      5000,
    );
  });

  const isDelay = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1] === 'delay';
    } catch {
      return false;
    }
  };

  it('a stopped (state T) restart back-off of a removed container: reported, killed by --fix', () => {
    const id = runDetached(t, '--name', 'flap', '--restart', 'always', '--restart-delay', '1m', 'busybox', 'false');
    const backoff = until(
      'the back-off',
      () => recordState(t, id),
      // the delay itself (before, the monitor becoming it, which rm -f would kill outright)
      (s) => s.restarting === true && s.monitorPid !== undefined && alive(s.monitorPid) && isDelay(s.monitorPid),
    ).monitorPid!;
    process.kill(backoff, 'SIGSTOP');
    until(
      'the back-off to stop',
      () => procState(backoff),
      (s) => s === 'T',
    );
    // rm -f ends the back-off with SIGTERM, which a stopped process never acts on
    expect(t.box(['rm', '-f', 'flap']).status).toBe(0);
    expect(procState(backoff)).toBe('T');
    findAndFix(t, [{ kind: 'process', object: expect.stringContaining(`pid ${backoff} `) as unknown as string }]);
    until(
      'the back-off to be gone',
      () => alive(backoff),
      (a) => !a,
    );
  });

  it("a dead writer's temporary file and a killed creation's staging directory: removed by --fix", () => {
    const tmp = path.join(t.root, 'images', '.tmp-x.json-999999999.1-abcdef');
    const staging = path.join(t.root, 'containers', `.new-${'d'.repeat(64)}`);
    fs.writeFileSync(tmp, '{');
    fs.mkdirSync(staging);
    findAndFix(t, [
      { kind: 'store', object: tmp },
      { kind: 'store', object: staging },
    ]);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(fs.existsSync(staging)).toBe(false);
  });

  it('a damaged record is reported, and --fix leaves it to box rm -f (exit 1)', () => {
    const id = runDetached(t, '--name', 'garbled', 'busybox', 'true');
    until(
      'it to exit',
      () => recordState(t, id).status,
      (s) => s === 'exited',
    );
    const file = path.join(t.root, 'containers', id, 'container.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 40));
    const found = check(t);
    expect(found.findings).toContainEqual(
      expect.objectContaining({
        kind: 'container',
        object: path.dirname(file),
        reason: expect.stringContaining('damaged'),
      }),
    );
    expect(found.r.status).toBe(1);
    const fixed = check(t, '--fix');
    expect(fixed.findings).toContainEqual(
      expect.objectContaining({ kind: 'container', fixed: false, error: expect.stringContaining(`box rm -f ${id}`) }),
    );
    expect(fixed.r.status).toBe(1);
    expect(fs.existsSync(file)).toBe(true);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
    expect(check(t).findings).toEqual([]);
  });

  it("a killed build's step container: settled, then removed by --fix as the next build would", () => {
    const dir = path.join(t.dir, 'killed-build');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN sleep 300\n');
    const build = t.start(['build', '-q', dir]);
    try {
      const step = until(
        'the step running',
        () => t.box(['ps', '-q', '--no-trunc']).stdout.trim(),
        (out) => out !== '',
      );
      build.kill('SIGKILL');
      const found = check(t);
      expect(found.r.status).toBe(1);
      // running, its owner gone: --fix settles it (as ps would), then removes the stopped step
      findAndFix(t, [{ kind: 'container', object: expect.stringContaining(step) as unknown as string }]);
      expect(t.box(['ps', '-a', '-q']).stdout).toBe('');
    } finally {
      build.kill('SIGKILL');
    }
  });

  it('--format other than json or table is a one-line error, exit 125', () => {
    const r = t.box(['system', 'check', '--format', '{{.Kind}}']);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("a killed volume removal's trash, a dead container's volume use and a dead store operation's marker", () => {
    expect(t.box(['volume', 'create', 'kept']).status).toBe(0);
    const trash = path.join(t.root, 'volumes', '.trash-gone-999999999.1-abcd');
    const use = path.join(t.root, 'volumes', 'kept', 'uses', 'e'.repeat(64));
    const marker = path.join(t.root, 'run', 'store-ops', 'op-999999999.1-abcd');
    fs.mkdirSync(path.join(trash, '_data'), { recursive: true });
    fs.mkdirSync(path.dirname(use), { recursive: true });
    fs.writeFileSync(use, '');
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
    findAndFix(t, [
      { kind: 'volume', object: trash },
      { kind: 'volume', object: `kept: use by ${'e'.repeat(12)}` },
      { kind: 'store', object: marker },
    ]);
    for (const p of [trash, use, marker]) expect(fs.existsSync(p)).toBe(false);
    expect(t.box(['volume', 'rm', 'kept']).status).toBe(0);
  });

  it('check --fix racing run, run -d, rm -f and exec finds nothing and removes nothing in use', async () => {
    const exitOf = (child: ReturnType<TestRoot['start']>) => {
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      return new Promise<{ code: number | null; err: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, err })),
      );
    };
    const runs: Promise<{ code: number | null; err: string }>[] = [];
    const checks: Promise<{ code: number | null; err: string; out: string }>[] = [];
    for (let i = 0; i < 6; i++) {
      runs.push(exitOf(t.start(['run', '--rm', 'busybox', 'true'])));
      runs.push(exitOf(t.start(['run', '-d', '--name', `race${i}`, 'busybox', 'sleep', '1000'])));
      const c = t.start(['system', 'check', '--fix', '--format', 'json']);
      let out = '';
      c.stdout!.on('data', (d) => (out += d));
      checks.push(exitOf(c).then((r) => ({ ...r, out })));
    }
    for (const r of await Promise.all(runs)) expect(r).toEqual({ code: 0, err: '' });
    for (const c of await Promise.all(checks)) expect(c).toEqual({ code: 0, err: '', out: '' });
    for (let i = 0; i < 6; i++) {
      expect(t.box(['exec', `race${i}`, 'true']).status).toBe(0);
    }
    const rm = t.box(['rm', '-f', ...Array.from({ length: 6 }, (_, i) => `race${i}`)]);
    expect(rm.status).toBe(0);
    expect(check(t).findings).toEqual([]);
  });

  describe('on a user network with a published port', () => {
    beforeAll(() => {
      expect(t.box(['network', 'create', 'checknet']).status).toBe(0);
    });

    /** An id from `run -d` on the network, publishing host port `port`. */
    function webOn(name: string, port: number): string {
      return runDetached(t, '--name', name, '--network', 'checknet', '-p', `${port}:80`, 'busybox', 'sleep', '1000');
    }

    it('a running container whose record was removed by hand: veth, address, DNS names and published port', () => {
      const id = webOn('netweb', 18431);
      expect(vethsOf(id)).toHaveLength(1);
      expect(nftTable(t.root)).toContain('18431');
      // a clean root so far: nothing of a live container is a leftover
      expect(check(t).findings).toEqual([]);
      fs.rmSync(path.join(t.root, 'containers', id), { recursive: true });
      fs.rmSync(path.join(t.root, 'names', 'netweb'), { force: true });
      findAndFix(t, [
        { kind: 'veth', object: vethsOf(id)[0] },
        { kind: 'address', object: expect.stringMatching(/ on checknet$/) as unknown as string },
        { kind: 'dns', object: expect.stringContaining('netweb') as unknown as string },
        { kind: 'nftables', reason: expect.stringContaining(':18431/tcp') as unknown as string },
        { kind: 'process' },
        { kind: 'runtime-dir' },
      ]);
      expect(vethsOf(id)).toEqual([]);
      expect(nftTable(t.root)).not.toContain('18431');
      expect(cgroupDirsOf(id)).toEqual([]);
    });

    it('a foreground box run killed (SIGKILL) with its container running: --fix settles it', async () => {
      const box = t.start([
        'run',
        '--name',
        'fgnet',
        '--network',
        'checknet',
        '-p',
        '18432:80',
        'busybox',
        'sleep',
        '1000',
      ]);
      const exited = new Promise((resolve) => box.on('exit', resolve));
      const id = until(
        'fgnet running',
        () =>
          t.containerIds().find((c) => {
            try {
              // released: past its network setup (killed during it, the command never ran: created)
              const released = fs.existsSync(path.join(t.root, 'run', 'containers', c, 'released'));
              return recordState(t, c).status === 'running' && vethsOf(c).length > 0 && released;
            } catch {
              return false;
            }
          }),
        (c) => c !== undefined,
      )!;
      box.kill('SIGKILL');
      await exited;
      findAndFix(t, [{ kind: 'container', object: `${id} (fgnet)` }]);
      expect(recordState(t, id).status).toBe('exited');
      until(
        'its veth to go',
        () => vethsOf(id),
        (v) => v.length === 0,
        5000,
      );
      expect(nftTable(t.root)).not.toContain('18432');
      expect(t.box(['rm', 'fgnet']).status).toBe(0);
    });

    it("a bridge named as this root's with no network, and a veth of a stopped container: removed by --fix", () => {
      const id = runDetached(t, '--name', 'stopped-net', '--network', 'checknet', 'busybox', 'true');
      until(
        'it to exit',
        () => recordState(t, id).status,
        (s) => s === 'exited',
      );
      const tag = rootTag({ root: t.root });
      const bridge = `bx${tag}-0badc0de`;
      const veth = `vb${id.slice(0, 10)}7`;
      expect(spawnSync('ip', ['link', 'add', bridge, 'type', 'bridge']).status).toBe(0);
      expect(spawnSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `chk${tag}peer`]).status).toBe(0);
      try {
        findAndFix(t, [
          { kind: 'bridge', object: bridge },
          { kind: 'veth', object: veth },
        ]);
        const links = hostLinks();
        expect(links).not.toContain(bridge);
        expect(links).not.toContain(veth);
        expect(links).not.toContain(`chk${tag}peer`);
      } finally {
        for (const l of [bridge, veth]) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
        t.box(['rm', '-f', id]);
      }
    });

    it("the root's nftables table deleted by hand is no leftover: the next start with a port makes it again", () => {
      const table = `box-${rootTag({ root: t.root })}`;
      spawnSync('nft', ['delete', 'table', 'inet', table]);
      expect(check(t).findings).toEqual([]);
      const id = webOn('tabled', 18433);
      try {
        expect(nftTable(t.root)).toContain('18433');
        expect(check(t).findings).toEqual([]);
      } finally {
        t.box(['rm', '-f', id]);
      }
    });

    it("a rule added by hand to the root's table: reported, the table applied again by --fix", () => {
      const id = webOn('handrule', 18436);
      const table = `box-${rootTag({ root: t.root })}`;
      const add = spawnSync('nft', ['add', 'rule', 'inet', table, 'forward', 'counter', 'comment', '"by hand"']);
      expect(add.status).toBe(0);
      try {
        findAndFix(t, [{ kind: 'nftables', object: `table inet ${table}` }]);
        expect(nftTable(t.root)).not.toContain('by hand');
        expect(nftTable(t.root)).toContain('18436');
      } finally {
        t.box(['rm', '-f', id]);
      }
    });

    it('a stopped (state T) DNS responder: killed by --fix, and a new one serves the running container', () => {
      const id = webOn('named', 18434);
      const pidFile = () => {
        const dir = path.join(t.root, 'run', 'networks');
        for (const n of fs.readdirSync(dir)) {
          try {
            const token = (JSON.parse(fs.readFileSync(path.join(dir, n, 'dns.pid'), 'utf8')) as { token: string })
              .token;
            return Number(token.split('.')[0]);
          } catch {
            /* not this one */
          }
        }
        return undefined;
      };
      const responder = pidFile()!;
      expect(alive(responder)).toBe(true);
      process.kill(responder, 'SIGSTOP');
      try {
        until(
          'the responder to stop',
          () => procState(responder),
          (s) => s === 'T',
        );
        findAndFix(t, [{ kind: 'dns', object: expect.stringContaining(`pid ${responder} `) as unknown as string }]);
        until(
          'the stopped responder to be gone',
          () => alive(responder),
          (a) => !a,
        );
        const next = pidFile();
        expect(next).not.toBe(responder);
        expect(alive(next!)).toBe(true);
      } finally {
        if (alive(responder)) process.kill(responder, 'SIGKILL');
        t.box(['rm', '-f', id]);
      }
    });

    it('box run -d killed (SIGKILL) at its cgroup, its address, its veth: --fix leaves nothing of it', async () => {
      const before = snapshot(t);
      const ipam = () => {
        const dir = path.join(t.root, 'networks');
        return fs.readdirSync(dir).flatMap((n) => {
          try {
            const f = JSON.parse(fs.readFileSync(path.join(dir, n, 'ipam.json'), 'utf8')) as {
              allocations: Record<string, unknown>;
            };
            return Object.keys(f.allocations);
          } catch {
            return [];
          }
        });
      };
      const points: Record<string, (ids: string[]) => boolean> = {
        cgroup: (ids) => ids.some((id) => cgroupDirsOf(id).length > 0),
        address: (ids) => ids.some((id) => ipam().includes(id)),
        veth: (ids) => ids.some((id) => vethsOf(id).length > 0),
      };
      for (const [point, reached] of Object.entries(points)) {
        const known = new Set(t.containerIds());
        const box = t.start(['run', '-d', '--network', 'checknet', 'busybox', 'sleep', '1000']);
        const exited = new Promise((resolve) => box.on('exit', resolve));
        let done = false;
        void exited.then(() => (done = true));
        const fresh = () => t.containerIds().filter((id) => !known.has(id) && /^[0-9a-f]{64}$/.test(id));
        while (!done && !reached(fresh())) await new Promise((r) => setTimeout(r, 2));
        const cut = !done; // killed at the point (not after a start that went by first)
        box.kill('SIGKILL');
        await exited;
        const fixed = check(t, '--fix');
        const kinds = new Set(fixed.findings.map((f) => f.kind));
        if (cut) expect(kinds.has('cgroup'), `${point}: ${[...kinds]}`).toBe(true);
        if (cut && point !== 'cgroup') expect(kinds.has('address'), `${point}: ${[...kinds]}`).toBe(true);
        expect(
          fixed.findings.filter((f) => !f.fixed),
          point,
        ).toEqual([]);
        const again = check(t);
        expect(again.findings, point).toEqual([]);
        // what `box ps -a` lists may stay (a created or running container); nothing outside a record
        const ids = t.box(['ps', '-a', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean);
        if (ids.length) expect(t.box(['rm', '-f', ...ids]).status).toBe(0);
        expect(leftovers(t, before), point).toEqual([]);
        expect(ipam(), point).toEqual([]);
      }
    });

    // last: it takes the root's networks away
    it("the network records wiped: the root's bridges, table, runtime dirs and locks are leftovers", () => {
      const id = webOn('wiped', 18435);
      expect(t.box(['rm', '-f', id]).status).toBe(0);
      const tag = rootTag({ root: t.root });
      const bridges = hostLinks().filter((l) => l.startsWith(`bx${tag}`));
      // checknet's at least (another test run's clean-up on this host may have taken the default's)
      expect(bridges.length).toBeGreaterThanOrEqual(1);
      expect(nftTable(t.root)).not.toBe('');
      fs.rmSync(path.join(t.root, 'networks'), { recursive: true });
      const found = findAndFix(t, [
        { kind: 'nftables', reason: 'no network of this root needs it' },
        ...bridges.map((b) => ({ kind: 'bridge', object: b })),
      ]);
      expect(found.some((f) => f.kind === 'runtime-dir' && f.object.includes('/run/locks/networks/'))).toBe(true);
      expect(hostLinks().filter((l) => l.startsWith(`bx${tag}`))).toEqual([]);
      expect(nftTable(t.root)).toBe('');
    });
  });
});
