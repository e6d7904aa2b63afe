// Known runtime escapes through mounts and working directories, as regression tests that must
// fail closed (issue 11):
//   - runc CVE-2024-21626: `-w /proc/self/fd/N` (a descriptor leaked from the runtime) for every N;
//   - runc CVE-2025-31133: /dev/null or a masked path replaced by a symlink (through a volume over
//     /dev or /sys, or in the image) must not turn a mask into a bind of a host file or a mask elsewhere;
//   - runc CVE-2021-30465: a mount target inside a shared volume swapped for a symlink by another
//     container while box mounts, in a loop, never redirects a mount or a mkdir onto the host;
//   - the host's /dev/null as a container's stdio: root in it could chmod or chown the host's node
//     through /proc/self/fd/0 (found at 0644 on this host while tests ran).
import { SpawnSyncOptions, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball, inspectOne, mountsOf, mountsUnder, runDetached, until } from '../support/box';

const t = busyboxRoot();

describe('escapes through mounts and the working directory', () => {
  it('refuses -w /proc/self/fd/N for every N, in run and exec (CVE-2024-21626)', () => {
    for (let n = 0; n < 24; n++) {
      const r = t.box(['run', '--rm', '-w', `/proc/self/fd/${n}`, 'busybox', 'pwd']);
      expect(r.status, `fd ${n}: ${r.stdout}`).toBe(125);
      expect(r.stderr).toMatch(/cannot start the container \(cwd\)/);
    }
    const id = runDetached(t, 'busybox', 'sleep', '600');
    for (let n = 0; n < 24; n++) {
      const r = t.box(['exec', '-w', `/proc/self/fd/${n}`, id, 'pwd']);
      expect(r.status, `exec fd ${n}: ${r.stdout}`).not.toBe(0);
      expect(r.stdout).toBe('');
    }
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it('never binds a /dev/null that is a symlink, nor masks through a link (CVE-2025-31133)', () => {
    // a volume over /dev whose null is a link to a host-writable proc file
    const data = path.join(t.root, 'volumes', 'evil', '_data');
    expect(t.box(['volume', 'create', 'evil']).status).toBe(0);
    fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(data, 'null'));
    const r = t.box(['run', '--rm', '-v', 'evil:/dev', 'busybox', 'cat', '/proc/timer_list']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/the container's \/dev\/null is not the null device/);
    expect(r.stdout).toBe('');
    expect(t.box(['volume', 'rm', 'evil']).status).toBe(0);

    // a masked path replaced by a link (a volume over /sys/devices/virtual whose powercap leads to /etc)
    const sys = path.join(t.root, 'volumes', 'sysv', '_data');
    expect(t.box(['volume', 'create', 'sysv']).status).toBe(0);
    fs.symlinkSync('/etc', path.join(sys, 'powercap'));
    const s = t.box(['run', '--rm', '-v', 'sysv:/sys/devices/virtual', 'busybox', 'ls', '/etc']);
    expect(s.status).toBe(125);
    expect(s.stderr).toMatch(/\/sys\/devices\/virtual\/powercap is a symbolic link/);
    expect(t.box(['volume', 'rm', 'sysv']).status).toBe(0);

    // an image whose /dev/null is such a link: box's own /dev hides it, masks use the real device
    const dir = fs.mkdtempSync(path.join(t.dir, 'devnull-'));
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(rootfs);
    expect(spawnSync('tar', ['-C', rootfs, '-xf', busyboxTarball(t.dir)]).status).toBe(0);
    fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(rootfs, 'dev', 'null'));
    const tar = path.join(dir, 'img.tar');
    expect(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status).toBe(0);
    expect(t.box(['import', tar, 'devnull:1', '--change', 'CMD ["sh"]']).status).toBe(0);
    const i = t.box(['run', '--rm', 'devnull:1', 'sh', '-c', 'cat /proc/timer_list; stat -c %t:%T /dev/null']);
    expect(i.stdout).toBe('1:3\n');
  });

  it('keeps every mount and created mount point inside the container while another container swaps the target for a symlink (CVE-2021-30465)', () => {
    // The attacker shares the volume and flips /v/d between a directory and a link to a host
    // directory; a runtime that followed the link would mkdir (and mount) in the host's directory.
    const hostDir = fs.mkdtempSync(path.join(t.dir, 'escape-'));
    const flip = `while :; do rm -rf /v/d; mkdir /v/d; rm -rf /v/d; ln -s ${hostDir} /v/d; done`;
    const attacker = runDetached(t, '-v', 'race:/v', 'busybox', 'sh', '-c', flip);
    const mountsBefore = mountsOf(t.dir); // this root's alone: other test runs mount and unmount meanwhile
    let started = 0;
    for (let i = 0; i < 25; i++) {
      const r = t.box([
        'run',
        '--rm',
        '-v',
        'race:/v',
        '--tmpfs',
        '/v/d/sub',
        '-v',
        `${hostDir}-src:/v/d/bind`,
        'busybox',
        'true',
      ]);
      expect([0, 125], r.stderr).toContain(r.status);
      if (r.status === 0) started++;
      expect(fs.readdirSync(hostDir)).toEqual([]);
    }
    expect(t.box(['rm', '-f', attacker]).status).toBe(0);
    expect(mountsOf(t.dir)).toEqual(mountsBefore);
    expect(mountsUnder(t.dir)).toEqual([]);
    expect(started).toBeGreaterThan(0); // the race did not simply make every start fail
    t.box(['volume', 'rm', 'race']);
  });

  it("gives no container the host's /dev/null, whose mode and owner root in it could change", () => {
    // What a container's root can do to the node its stdin is; the null device all the same (1:3).
    const attack = 'chmod 0600 /proc/self/fd/0; chown 4242 /proc/self/fd/0; stat -L -c %t:%T /proc/self/fd/0';
    const hostNull = () => {
      const st = fs.statSync('/dev/null');
      return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    };
    const untouched = { mode: 0o666, uid: 0, gid: 0 };
    const callersNull: SpawnSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] }; // box's stdin: the host's /dev/null
    try {
      expect(hostNull()).toEqual(untouched);
      // box's /dev/null as the stdin of a run without -i; with -i the caller's comes through a pipe
      for (const args of [['run'], ['run', '-i']]) {
        const r = t.box([...args, '--rm', '--network', 'none', 'busybox', 'sh', '-c', attack], callersNull);
        expect({ args, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
          args,
          status: 0,
          stdout: args.includes('-i') ? '0:0\n' : '1:3\n',
          stderr: '',
        });
        expect(hostNull()).toEqual(untouched);
      }
      // a detached container's stdin, a health probe's and an exec's into it
      const probe = ['--health-cmd', attack, '--health-interval', '100ms'];
      const id = runDetached(t, '--network', 'none', ...probe, 'busybox', 'sh', '-c', `${attack}; exec sleep 600`);
      until(
        'the detached container ran',
        () => t.box(['logs', id]).stdout,
        (out) => out === '1:3\n',
      );
      expect(hostNull()).toEqual(untouched);
      type Probed = { State: { Health?: { Log: { Output: string }[] } } };
      const probed = until(
        'a health probe ran',
        () => inspectOne<Probed>(t, id).State.Health?.Log ?? [],
        (log) => log.length > 0,
      );
      expect(probed[0].Output).toBe('1:3\n');
      expect(hostNull()).toEqual(untouched);
      const e = t.box(['exec', id, 'sh', '-c', attack], callersNull);
      expect([e.status, e.stdout, e.stderr]).toEqual([0, '1:3\n', '']);
      expect(hostNull()).toEqual(untouched);
      expect(t.box(['rm', '-f', id]).status).toBe(0);
    } finally {
      // a failure leaves the host usable
      const now = hostNull();
      if (now.mode !== 0o666) fs.chmodSync('/dev/null', 0o666);
      if (now.uid !== 0 || now.gid !== 0) fs.chownSync('/dev/null', 0, 0);
    }
  });

  it("refuses an exec's stdio when the container's /dev/null is a link, rather than follow it or use the host's", () => {
    const core = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const swap = 'rm /dev/null; ln -s /proc/sys/kernel/core_pattern /dev/null; echo swapped; exec sleep 600';
    const id = runDetached(t, '--network', 'none', 'busybox', 'sh', '-c', swap);
    until(
      'the container swapped its /dev/null',
      () => t.box(['logs', id]).stdout,
      (out) => out === 'swapped\n',
    );
    const e = t.box(['exec', id, 'sh', '-c', 'echo ran; echo x >&0']);
    expect(e.status).toBe(125);
    expect(e.stderr).toMatch(/^box: .*\(stdio\): the container's \/dev\/null is not the null device .*\n$/);
    expect(e.stdout).toBe('');
    expect(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).toBe(core);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it('refuses a mount over /proc, where the masked paths live', () => {
    const r = t.box(['run', '--rm', '-v', 'pv:/proc/sys', 'busybox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/\/proc\/sys is inside \/proc, which box mounts itself/);
  });
});
