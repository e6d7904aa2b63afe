// `box run` isolates a process the way `docker run` does: checked from inside real containers.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MASKED_PATHS, READONLY_PATHS } from '../../src/runtime/plan';
import { busyboxRoot } from '../support/box';

const DOCKER_DEFAULT_CAPEFF = '00000000a80425fb';

describe('box run: isolation', () => {
  const t = busyboxRoot();

  const run = (...args: string[]) => t.box(['run', '--rm', ...args]);

  it('runs the command as PID 1 in its own PID namespace', () => {
    const r = run('busybox', 'sh', '-c', 'echo $$; ps -o pid,comm | wc -l');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [pid, lines] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(Number(lines)).toBeLessThanOrEqual(4); // header, sh, ps, wc
  });

  it('gives the container its own hostname, default or --hostname', () => {
    expect(run('--hostname', 'web-1', 'busybox', 'hostname').stdout).toBe('web-1\n');
    expect(run('--hostname', 'web-1', 'busybox', 'cat', '/etc/hostname').stdout).toBe('web-1\n');
    expect(run('busybox', 'hostname').stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    expect(run('--hostname', 'web-1', 'busybox', 'grep', 'web-1', '/etc/hosts').stdout).toContain('web-1');
  });

  it('mounts a new /proc, a read-only /sys and a /dev with the standard nodes only', () => {
    const r = run(
      'busybox',
      'sh',
      '-c',
      'ls /dev | sort | tr "\\n" " "; echo; grep -E " /(sys|proc|dev|dev/pts|dev/shm|dev/mqueue) " /proc/mounts | cut -d" " -f2,3,4',
    );
    expect(r.status).toBe(0);
    const [devs, ...mounts] = r.stdout.trim().split('\n');
    for (const d of [
      'null',
      'zero',
      'full',
      'random',
      'urandom',
      'tty',
      'ptmx',
      'pts',
      'shm',
      'mqueue',
      'fd',
      'stdin',
      'stdout',
      'stderr',
    ]) {
      expect(devs.split(' ')).toContain(d);
    }
    expect(devs).not.toMatch(/\bsda|vda|mem\b/);
    const byPath = Object.fromEntries(mounts.map((l) => [l.split(' ')[0], l]));
    expect(byPath['/proc']).toMatch(/^\/proc proc /);
    expect(byPath['/sys']).toMatch(/^\/sys sysfs ro,/);
    expect(byPath['/dev']).toMatch(/^\/dev tmpfs /);
    expect(byPath['/dev/pts']).toMatch(/^\/dev\/pts devpts /);
    expect(byPath['/dev/shm']).toMatch(/^\/dev\/shm tmpfs /);
    expect(byPath['/dev/mqueue']).toMatch(/^\/dev\/mqueue mqueue /);
  });

  it('masks sensitive /proc and /sys paths and makes others read-only', () => {
    const r = run(
      'busybox',
      'sh',
      '-c',
      [
        'cat /proc/kcore 2>/dev/null | wc -c', // absent on some kernels: empty either way
        'cat /proc/keys | wc -c',
        'cat /proc/timer_list | wc -c',
        'ls /sys/firmware | wc -l',
        'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly',
        'echo x > /proc/sysrq-trigger 2>/dev/null && echo writable || echo readonly',
      ].join('; '),
    );
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['0', '0', '0', '0', 'readonly', 'readonly']);
  });

  /** The container's mount table by mount point (the topmost mount wins) and a stat of each path. */
  const mountsAndStats = (flags: string[], paths: string[]) => {
    const script =
      `cat /proc/self/mountinfo; echo ---; for p in ${paths.join(' ')}; do [ -e $p ] || continue; ` +
      'echo "$p|$(stat -c %F $p)|$(stat -c %t:%T $p)|$( [ -d $p ] && ls -A $p | wc -l)"; done';
    const r = run(...flags, 'busybox', 'sh', '-c', script);
    expect(r.stderr).toBe('');
    const [table, stats] = r.stdout.split('---\n');
    const mounts = new Map<string, { root: string; opts: string[]; fstype: string }>();
    for (const line of table.trim().split('\n')) {
      const f = line.split(' ');
      const sep = f.indexOf('-');
      mounts.set(f[4], { root: f[3], opts: f[5].split(','), fstype: f[sep + 1] });
    }
    const stat = new Map(
      stats
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [p, type, dev, entries] = l.split('|');
          return [p, { type, dev, entries }] as const;
        }),
    );
    return { mounts, stat };
  };
  const onHost = (paths: string[]) => paths.filter((p) => fs.existsSync(p));

  it("masks every one of Docker's masked paths present on the host and mounts its read-only paths read-only", () => {
    const masked = onHost(MASKED_PATHS);
    const readOnly = onHost(READONLY_PATHS);
    expect(masked).toEqual(expect.arrayContaining(['/proc/keys', '/proc/timer_list', '/sys/firmware']));
    const { mounts, stat } = mountsAndStats([], [...masked, ...readOnly]);
    for (const p of masked) {
      const m = mounts.get(p);
      expect(m, p).toBeDefined();
      if (stat.get(p)?.type === 'directory') {
        // an empty read-only tmpfs over the directory
        expect({ p, fstype: m!.fstype, ro: m!.opts[0], entries: stat.get(p)!.entries }).toEqual({
          p,
          fstype: 'tmpfs',
          ro: 'ro',
          entries: '0',
        });
      } else {
        // /dev/null bound over the file
        expect({ p, type: stat.get(p)?.type, dev: stat.get(p)?.dev, root: m!.root }).toEqual({
          p,
          type: 'character special file',
          dev: '1:3',
          root: '/null',
        });
      }
    }
    for (const p of readOnly) {
      expect(stat.has(p), p).toBe(true);
      expect({ p, ro: mounts.get(p)?.opts[0] }).toEqual({ p, ro: 'ro' });
    }
  });

  it('--privileged: no seccomp, a writable /sys and no masked or read-only paths', () => {
    const paths = onHost([...MASKED_PATHS, ...READONLY_PATHS]);
    const { mounts } = mountsAndStats(['--privileged'], paths);
    expect(mounts.get('/sys')?.opts[0]).toBe('rw');
    for (const p of paths) expect(mounts.has(p), p).toBe(false);
    expect(run('--privileged', 'busybox', 'grep', '^Seccomp:', '/proc/self/status').stdout).toMatch(/^Seccomp:\s+0\n$/);
    // and the default container, for contrast
    expect(mountsAndStats([], []).mounts.get('/sys')?.opts[0]).toBe('ro');
  });

  it("gives the container its own /etc/resolv.conf: the host's, without loopback name servers in an own network namespace", () => {
    const host = fs.readFileSync('/etc/resolv.conf', 'utf8');
    const withoutLoopback = host
      .split('\n')
      .filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l))
      .join('\n');
    const r = run(
      'busybox',
      'sh',
      '-c',
      'cat /etc/resolv.conf; echo "nameserver 192.0.2.1" >> /etc/resolv.conf && echo appended',
    );
    expect(r.stdout).toBe(withoutLoopback + 'appended\n');
    expect(fs.readFileSync('/etc/resolv.conf', 'utf8')).toBe(host); // the container wrote to its own copy
    const { mounts } = mountsAndStats([], []);
    expect(mounts.has('/etc/resolv.conf')).toBe(true);
    expect(run('--network', 'host', 'busybox', 'cat', '/etc/resolv.conf').stdout).toBe(host);
  });

  it('runs on an overlay root filesystem whose changes stay in the container', () => {
    const r = run(
      'busybox',
      'sh',
      '-c',
      'grep " / " /proc/mounts | cut -d" " -f3; echo hi > /new-file && cat /new-file',
    );
    expect(r.stdout).toBe('overlay\nhi\n');
    expect(run('busybox', 'ls', '/new-file').status).not.toBe(0);
  });

  it('--read-only makes the root filesystem read-only but keeps /etc/hostname writable', () => {
    const r = run(
      '--read-only',
      'busybox',
      'sh',
      '-c',
      'touch /x 2>/dev/null && echo rw || echo ro; grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1',
    );
    expect(r.stdout).toBe('ro\nro\n');
  });

  it("applies Docker's default capabilities, --cap-add, --cap-drop and --privileged", () => {
    const capEff = (...flags: string[]) =>
      /CapEff:\s+([0-9a-f]+)/.exec(run(...flags, 'busybox', 'cat', '/proc/self/status').stdout)?.[1];
    expect(capEff()).toBe(DOCKER_DEFAULT_CAPEFF);
    expect(capEff('--cap-drop', 'ALL')).toBe('0000000000000000');
    const withNetAdmin = BigInt('0x' + capEff('--cap-add', 'NET_ADMIN'));
    expect(withNetAdmin & (1n << 12n)).toBe(1n << 12n);
    const noChown = BigInt('0x' + capEff('--cap-drop', 'chown'));
    expect(noChown & 1n).toBe(0n);
    // Privileged means every capability box itself holds (a sandboxed host may bound even root).
    const hostBounding = BigInt('0x' + /CapBnd:\s+([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
    expect(BigInt('0x' + capEff('--privileged'))).toBe(hostBounding);
  });

  it('refuses an unknown capability with a one-line error', () => {
    const r = run('--cap-add', 'FLY', 'busybox', 'true');
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown capability/i);
  });

  it('turns on seccomp filtering and no_new_privs by default', () => {
    const r = run('busybox', 'grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status');
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.stdout).toMatch(/Seccomp:\s+2/);
  });

  it('blocks with seccomp what Docker blocks (a user namespace) unless unconfined', () => {
    const blocked = run('busybox', 'unshare', '-U', 'true');
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toMatch(/Operation not permitted/);
    const unconfined = run('--security-opt', 'seccomp=unconfined', 'busybox', 'grep', '^Seccomp:', '/proc/self/status');
    expect(unconfined.stdout).toMatch(/Seccomp:\s+0/);
  });

  it('accepts a Docker-format seccomp profile', () => {
    const profile = `${t.dir}/deny-mkdir.json`;
    fs.writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const r = run('--security-opt', `seccomp=${profile}`, 'busybox', 'sh', '-c', 'mkdir /tmp/x 2>&1; echo done');
    expect(r.stdout).toMatch(/Operation not permitted/);
    expect(r.stdout).toContain('done');
  });

  it('--security-opt no-new-privileges=false leaves no_new_privs off', () => {
    const r = run('--security-opt', 'no-new-privileges=false', 'busybox', 'grep', '^NoNewPrivs:', '/proc/self/status');
    expect(r.stdout).toMatch(/NoNewPrivs:\s+0/);
  });

  it('--network none gives only a loopback interface, and it is up', () => {
    const r = run('--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/flags');
    expect(r.stdout.trim().split(/\s+/)).toEqual(['lo', '0x9']);
  });

  it('the default network is the default bridge: eth0 with an address and a default route', () => {
    const r = run('busybox', 'sh', '-c', 'ls /sys/class/net; ip -4 addr show eth0; ip route');
    expect(r.stdout).toMatch(/^eth0\nlo\n/);
    expect(r.stdout).toMatch(/inet (\d+\.\d+\.\d+)\.\d+\/24 [\s\S]*default via \1\.1 dev eth0/);
  });

  it("--network host shares the host's interfaces", () => {
    const hostIfs = fs.readdirSync('/sys/class/net').sort();
    const r = run('--network', 'host', 'busybox', 'ls', '/sys/class/net');
    expect(r.stdout.trim().split(/\s+/).sort()).toEqual(hostIfs);
  });

  it('keeps IPC and UTS separate from the host', () => {
    const r = run(
      'busybox',
      'sh',
      '-c',
      'readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; readlink /proc/self/ns/cgroup; readlink /proc/self/ns/mnt',
    );
    const inside = r.stdout.trim().split('\n');
    const outside = ['ipc', 'uts', 'cgroup', 'mnt'].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
    expect(inside).toHaveLength(4);
    for (const [i, ns] of inside.entries()) expect(ns).not.toBe(outside[i]);
  });
});
