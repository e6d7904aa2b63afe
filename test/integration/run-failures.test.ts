// Bad input and failures midway leave nothing behind: no mount, cgroup or state.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, cgroupDirsOf, exitOf, leftovers, snapshot, until, waitForOutput } from '../support/box';

describe('box run: bad input and failures', () => {
  const t = busyboxRoot();

  const oneLine125 = (r: { status: number | null; stderr: string }) => {
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^box: /);
  };

  it('an unknown image, flag, network or command is one line and exit 125, creating nothing', () => {
    const before = t.containerIds();
    // --pull never: the default would ask docker.io for it.
    oneLine125(t.box(['run', '--pull', 'never', 'nosuchimage', 'true']));
    expect(t.box(['run', '--pull', 'never', 'nosuchimage', 'true']).stderr).toMatch(/image "nosuchimage" not found/);
    oneLine125(t.box(['run', '--no-such-flag', 'busybox', 'true']));
    oneLine125(t.box(['run', '--network', 'bridge9', 'busybox', 'true']));
    oneLine125(t.box(['frobnicate']));
    oneLine125(t.box(['run', '--name', 'bad name!', 'busybox', 'true']));
    oneLine125(t.box(['run', '--security-opt', 'seccomp=/nonexistent.json', 'busybox', 'true']));
    oneLine125(t.box(['run', '-w', 'relative', 'busybox', 'true']));
    expect(t.containerIds()).toEqual(before);
    expect(fs.existsSync(path.join(t.root, 'names')) ? fs.readdirSync(path.join(t.root, 'names')) : []).toEqual([]);
  });

  it('passes options after the image to the command, not to box', () => {
    const r = t.box(['run', '--rm', 'busybox', 'echo', '-e', 'a\\tb', '--memory', 'x']);
    expect(r.stdout).toBe('a\tb --memory x\n');
  });

  it('a start that fails inside the helper (missing command) leaves no cgroup, mount or --rm state', () => {
    const before = t.containerIds();
    const host = snapshot(t);
    const r = t.box(['run', '--rm', '--memory', '32m', 'busybox', 'definitely-missing']);
    expect(r.status).toBe(127);
    expect(t.containerIds()).toEqual(before);
    expect(leftovers(t, host)).toEqual([]);
  });

  it('a failing mount inside the helper (a file where a directory must be) is reported and cleaned up', () => {
    // /proc is a regular file in this image: mounting procfs there fails.
    const work = fs.mkdtempSync(path.join(t.dir, 'bad-image-'));
    fs.mkdirSync(path.join(work, 'bin'));
    fs.copyFileSync('/bin/busybox', path.join(work, 'bin', 'sh'));
    fs.chmodSync(path.join(work, 'bin', 'sh'), 0o755);
    fs.writeFileSync(path.join(work, 'proc'), 'not a directory');
    const tar = path.join(t.dir, 'bad.tar');
    expect(spawnSync('tar', ['-C', work, '-cf', tar, '.']).status).toBe(0);
    expect(t.box(['import', tar, 'bad-proc']).status).toBe(0);
    const before = t.containerIds();
    const host = snapshot(t);
    const r = t.box(['run', '--rm', 'bad-proc', '/bin/sh', '-c', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/proc/);
    expect(t.containerIds()).toEqual(before);
    expect(leftovers(t, host)).toEqual([]);
  });

  it("killing the helper (the container's monitor) kills the container and releases everything", async () => {
    const host = snapshot(t);
    const child = t.start([
      'run',
      '--name',
      'victim',
      '--memory',
      '32m',
      'busybox',
      'sh',
      '-c',
      'echo ready; while :; do sleep 0.05; done',
    ]);
    const done = exitOf(child);
    await waitForOutput(child.stdout!, 'ready');
    const record = (id: string) =>
      JSON.parse(fs.readFileSync(path.join(t.root, 'containers', id, 'container.json'), 'utf8'));
    const id = t.containerIds().find((c) => record(c).name === 'victim')!;
    // the container can print before box has recorded its pid (box reads the helper's events meanwhile)
    const rec = until(
      'victim recorded as running',
      () => record(id),
      (r) => r.state.status === 'running',
    );
    const containerPid: number = rec.state.pid;
    const helperPid = Number(fs.readFileSync(`/proc/${containerPid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    process.kill(helperPid, 'SIGKILL');
    const r = await done;
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/killed/);
    expect(cgroupDirsOf(rec.id)).toEqual([]);
    expect(t.box(['rm', 'victim']).status).toBe(0);
    expect(leftovers(t, host)).toEqual([]);
  });

  it("a cgroup write the kernel refuses midway (quota above the parent's) removes every cgroup and file", () => {
    // cgroup v1 refuses a child CFS quota larger than its parent's: give box's parent a small one.
    const parent = '/sys/fs/cgroup/cpu/box';
    if (!fs.existsSync('/sys/fs/cgroup/cpu/cgroup.procs')) return; // v1 only
    const created = !fs.existsSync(parent);
    if (created) fs.mkdirSync(parent);
    try {
      fs.writeFileSync(path.join(parent, 'cpu.cfs_quota_us'), '10000');
      const before = t.containerIds();
      const host = snapshot(t);
      const r = t.box(['run', '--rm', '--cpus', '1', 'busybox', 'true']);
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/cgroup/);
      expect(t.containerIds()).toEqual(before);
      expect(leftovers(t, host)).toEqual([]);
    } finally {
      if (fs.existsSync(parent)) {
        fs.writeFileSync(path.join(parent, 'cpu.cfs_quota_us'), '-1');
        if (created) fs.rmdirSync(parent);
      }
    }
  });

  it('a name is given to exactly one of many concurrent runs', async () => {
    const runs = Array.from({ length: 8 }, () => t.start(['run', '--name', 'contested', 'busybox', 'true']));
    const results = await Promise.all(runs.map(exitOf));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/name "contested" is already in use/);
    }
    expect(t.box(['rm', 'contested']).status).toBe(0);
  });

  /** A loopback TCP listener standing in for a registry: counts the connections a pull would make. */
  async function watchedRegistry(): Promise<{
    ref: (name: string) => string;
    connections: () => number;
    close: () => Promise<void>;
  }> {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    return {
      ref: (name) => `127.0.0.1:${port}/${name}`,
      connections: () => connections,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  it('refuses to run without root before anything else: no pull, no root directory', async () => {
    const registry = await watchedRegistry();
    try {
      for (const cmd of ['run', 'create']) {
        const child = spawn('setpriv', [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          BOX,
          '--root',
          '/tmp/box-nonroot-never-created',
          cmd,
          '--memory',
          '12x',
          registry.ref('img'),
        ]);
        const r = await exitOf(child);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(
          'box: box must run as root to create containers (rootless mode is not supported yet): use sudo\n',
        );
      }
      expect(registry.connections()).toBe(0);
      expect(fs.existsSync('/tmp/box-nonroot-never-created')).toBe(false);
    } finally {
      await registry.close();
    }
  });

  it('a malformed value with a missing image reports the value: nothing pulled, nothing created', async () => {
    const registry = await watchedRegistry();
    const fresh = path.join(t.dir, 'fresh-root');
    // Profiles that must be refused before a byte is read from them: a device that never ends, a
    // FIFO nobody writes to (whose open would block) and a file over the 1 MiB cap.
    const fifo = path.join(t.dir, 'profile-fifo');
    spawnSync('mkfifo', [fifo]);
    const big = path.join(t.dir, 'big-profile.json');
    fs.writeFileSync(big, ' '.repeat(1024 * 1024 + 1));
    const profileError = (file: string, problem: string) =>
      `box: cannot read seccomp profile "${file}" (${problem}): give the path of a Docker-format JSON profile\n`;
    try {
      const cases: [string[], string][] = [
        [['--security-opt', 'seccomp=/dev/zero'], profileError('/dev/zero', 'a character device, not a regular file')],
        [['--security-opt', `seccomp=${fifo}`], profileError(fifo, 'a FIFO, not a regular file')],
        [['--security-opt', `seccomp=${big}`], profileError(big, 'larger than 1 MiB')],
        [['--memory', '12x'], 'box: invalid value "12x" for --memory: expected a size like 512k, 256m or 1g\n'],
        [['--cpus', '-1'], 'box: invalid value "-1" for --cpus: expected a positive number of CPUs like 0.5 or 2\n'],
        [['--cap-add', 'NOPE'], 'box: unknown capability "NOPE": see capabilities(7) for names\n'],
        [['--pull', 'sometimes'], 'box: invalid --pull "sometimes": use missing, always or never\n'],
      ];
      for (const cmd of ['run', 'create']) {
        for (const [flags, error] of cases) {
          const r = await exitOf(spawn(BOX, ['--root', fresh, cmd, ...flags, registry.ref('unknownimg')]));
          expect(r.stderr, flags.join(' ')).toBe(error);
          expect(r.code).toBe(125);
        }
      }
      expect(registry.connections()).toBe(0);
      expect(fs.existsSync(fresh)).toBe(false);
    } finally {
      await registry.close();
    }
  });
});

describe('box run: the cgroup v2 code path on a real cgroup2 mount', () => {
  const unified = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((m) =>
    fs.existsSync(path.join(m, 'cgroup.controllers')),
  )!;
  const t = busyboxRoot();
  const env = { ...process.env, BOX_CGROUP_V2_MOUNT: unified };

  it('places the container in its own v2 cgroup, seen as the root of its cgroup namespace, and removes it', () => {
    const r = t.box(
      [
        'run',
        '--name',
        'v2',
        'busybox',
        'sh',
        '-c',
        'cat /proc/self/cgroup | grep "^0::"; grep -c . /sys/fs/cgroup/cgroup.procs; grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3',
      ],
      { env },
    );
    expect(r.stderr).toBe('');
    const [cg, procs, fstype] = r.stdout.trim().split('\n');
    expect(cg).toBe('0::/');
    expect(Number(procs)).toBeGreaterThanOrEqual(1);
    expect(fstype).toBe('cgroup2');
    const id = JSON.parse(t.box(['ps', '-a', '--format', 'json']).stdout.trim()).ID;
    expect(fs.existsSync(path.join(unified, 'box', id))).toBe(false);
    t.box(['rm', 'v2']);
  });

  it('refuses a limit whose controller the v2 hierarchy does not offer, creating nothing', () => {
    const controllers = fs.readFileSync(path.join(unified, 'cgroup.controllers'), 'utf8');
    if (controllers.includes('memory')) return; // a full v2 host: the limit tests cover it
    const before = t.containerIds();
    const r = t.box(['run', '--rm', '--memory', '64m', 'busybox', 'true'], { env });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/memory cgroup controller/);
    expect(t.containerIds()).toEqual(before);
  });
});
