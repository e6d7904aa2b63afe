// The device allowlist holds on both cgroup versions: v1's devices controller and, on the unified
// hierarchy, the BPF device program box compiles from the same rules. A container may mknod any
// node (CAP_MKNOD is a default capability) but open only the standard ones.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachProgram, loadDeviceProgram, detachProgram } from '../../src/linux/bpf';
import { compileDeviceProgram } from '../../src/linux/devices';
import { busyboxRoot, leftovers, snapshot } from '../support/box';

const unified = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((m) =>
  fs.existsSync(path.join(m, 'cgroup.controllers')),
)!;
const HIERARCHIES: [string, NodeJS.ProcessEnv][] = [
  ['the host default (cgroup v1 here)', process.env],
  [`cgroup v2 at ${unified}`, { ...process.env, BOX_CGROUP_V2_MOUNT: unified }],
];

describe('box run: devices', () => {
  const t = busyboxRoot();
  // The root disk cannot be read even by root on this host (the VM refuses it), so a loop device
  // with known content stands in for "a host disk": readable on the host, refused in a container.
  let loop = '';
  let majorMinor = '';
  beforeAll(() => {
    const img = path.join(t.dir, 'disk.img');
    const data = Buffer.alloc(1 << 20);
    data.write('HOSTDISKDATA');
    fs.writeFileSync(img, data);
    const r = spawnSync('losetup', ['--find', '--show', img], { encoding: 'utf8' });
    loop = r.stdout.trim();
    expect(r.stderr).toBe('');
    const rdev = fs.statSync(loop).rdev;
    majorMinor = `${(rdev >> 8) & 0xfff} ${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
    expect(fs.readFileSync(loop).subarray(0, 12).toString()).toBe('HOSTDISKDATA');
  });
  afterAll(() => {
    if (loop) spawnSync('losetup', ['-d', loop]);
  });

  const script = () =>
    `mknod /tmp/disk b ${majorMinor} && head -c 12 /tmp/disk; echo " read=$?"; ` +
    'echo x > /dev/null && head -c 2 /dev/zero | od -An -tx1 && head -c 8 /dev/urandom | wc -c';

  for (const [name, env] of HIERARCHIES) {
    it(`on ${name}: a host block device node can be made but not opened; the standard nodes work`, () => {
      const r = t.box(['run', '--rm', 'busybox', 'sh', '-c', script()], { env });
      expect(r.stderr).toBe('head: /tmp/disk: Operation not permitted\n');
      expect(r.stdout).toBe(' read=1\n 00 00\n8\n');
      expect(r.status).toBe(0);
    });

    it(`on ${name}: --privileged lifts the restriction`, () => {
      const r = t.box(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', script()], { env });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('HOSTDISKDATA read=0\n 00 00\n8\n');
    });
  }

  it('a device program the kernel refuses to attach fails the start cleanly, leaving no cgroup', () => {
    // A program attached to box's parent cgroup without BPF_F_ALLOW_OVERRIDE/MULTI forbids any
    // program below it: the container's attach gets EPERM.
    const parent = path.join(unified, 'box');
    const created = !fs.existsSync(parent);
    if (created) fs.mkdirSync(parent);
    const fd = loadDeviceProgram(compileDeviceProgram([{ type: 'a', access: 'rwm' }]));
    try {
      attachProgram(parent, fd, 0);
      const before = t.containerIds();
      const host = snapshot(t);
      const r = t.box(['run', '--rm', 'busybox', 'true'], { env: HIERARCHIES[1][1] });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(
        /^box: cannot set up the container's cgroup: cannot restrict the container's devices: bpf\(BPF_PROG_ATTACH\) .*EPERM/,
      );
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(t.containerIds()).toEqual(before);
      expect(leftovers(t, host)).toEqual([]);
    } finally {
      // box removes its empty parent after the failure, and the program with it
      if (fs.existsSync(parent)) {
        if (created) fs.rmdirSync(parent);
        else detachProgram(parent, fd);
      }
      fs.closeSync(fd);
    }
  });
});
