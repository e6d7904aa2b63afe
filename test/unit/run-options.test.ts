import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collectEnv,
  mergeEnv,
  parseLimits,
  parseSecurityOpts,
  parseRunFlags,
  parseUlimit,
  resolveArgs,
  resolveContainerConfig,
} from '../../src/runtime/run-options';
import { RunFlags, runFlagsFrom } from '../../src/runtime/run-flags';
import { resolveUser } from '../../src/runtime/users';
import { readImageFile, resolveInLayers } from '../../src/runtime/image-files';
import { parseChanges } from '../../src/image/changes';

const flags = (over: Partial<RunFlags> = {}): RunFlags => runFlagsFrom(over);

describe('run options', () => {
  it("combines entrypoint and command with Docker's rules", () => {
    const img = { Entrypoint: ['/entry'], Cmd: ['default'] };
    expect(resolveArgs(img, undefined, [])).toEqual({ entrypoint: ['/entry'], cmd: ['default'] });
    expect(resolveArgs(img, undefined, ['x'])).toEqual({ entrypoint: ['/entry'], cmd: ['x'] });
    expect(resolveArgs(img, 'other', [])).toEqual({ entrypoint: ['other'], cmd: [] });
    expect(resolveArgs(img, '', ['sh'])).toEqual({ entrypoint: [], cmd: ['sh'] });
  });

  it('merges environments: later wins, order of first appearance kept', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['A=3', 'C=4'])).toEqual(['B=2', 'A=3', 'C=4']);
    expect(collectEnv({ env: ['X=1', 'FROM_HOST', 'MISSING'], envFile: [] }, { FROM_HOST: 'h' })).toEqual([
      'X=1',
      'FROM_HOST=h',
    ]);
    expect(() => collectEnv({ env: ['=bad'], envFile: [] })).toThrow(/NAME=VALUE/);
    // An env file is a regular file read with a bound: /dev/zero is refused, not read without end.
    expect(() => collectEnv({ env: [], envFile: ['/dev/zero'] })).toThrow(
      'cannot read --env-file "/dev/zero" (a character device, not a regular file): give a readable file of NAME=VALUE lines',
    );
  });

  it('parses limits and refuses contradictions', () => {
    expect(parseLimits(flags({ cpus: '1.5' }))).toEqual({ cpuPeriod: 100000, cpuQuota: 150000 });
    expect(parseLimits(flags({ memory: '1g', memorySwap: '-1' }))).toEqual({ memory: 1024 ** 3, memorySwap: -1 });
    expect(() => parseLimits(flags({ cpus: '1', cpuQuota: '5000' }))).toThrow(/cannot be combined/);
  });

  it('parses ulimits and security options', () => {
    expect(parseUlimit('nofile=1024:2048')).toEqual({ name: 'nofile', soft: 1024, hard: 2048 });
    expect(parseUlimit('core=-1')).toEqual({ name: 'core', soft: -1, hard: -1 });
    expect(() => parseUlimit('bogus=1')).toThrow(/NAME=SOFT/);
    expect(() => parseUlimit('constructor=1')).toThrow(/NAME=SOFT/); // a key every object inherits
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: true, seccomp: 'default' });
    expect(parseSecurityOpts(['no-new-privileges=false', 'seccomp=unconfined'])).toEqual({
      noNewPrivileges: false,
      seccomp: 'unconfined',
    });
    expect(() => parseSecurityOpts(['apparmorx=1'])).toThrow(/security-opt/);
  });

  it("resolves users from the image's passwd and group files", () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
    const group = 'root:x:0:\napp:x:1000:\nvideo:x:44:app\n';
    expect(resolveUser('app', passwd, group)).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 44],
      home: '/home/app',
    });
    expect(resolveUser('1000:video', passwd, group)).toMatchObject({ uid: 1000, gid: 44 });
    expect(resolveUser('5000', passwd, group)).toEqual({ uid: 5000, gid: 0, additionalGids: [0], home: '/' });
    expect(resolveUser('', passwd, group)).toMatchObject({ uid: 0, gid: 0, home: '/root' });
    expect(() => resolveUser('nobody', passwd, group)).toThrow(/unable to find user nobody/);
    expect(() => resolveUser('app:nogroup', passwd, group)).toThrow(/unable to find group/);
  });

  it('resolves image files inside the layers and never follows a symlink out to the host', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-layers-'));
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    fs.mkdirSync(path.join(lower, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(lower, 'etc', 'group'), 'lower-group');
    fs.writeFileSync(path.join(lower, 'etc', 'passwd'), 'lower-passwd');
    // A deletion in the upper layer, as the unpacker stores it: an overlay whiteout (char device 0:0).
    expect(spawnSync('mknod', [path.join(upper, 'etc', 'group'), 'c', '0', '0']).status).toBe(0);
    fs.symlinkSync('/data/hostname', path.join(upper, 'etc', 'hostname')); // absolute: must resolve in the image
    fs.mkdirSync(path.join(lower, 'data'));
    fs.writeFileSync(path.join(lower, 'data', 'hostname'), 'image-hostname');
    try {
      expect(resolveInLayers([upper, lower], '/etc/passwd')).toBe(path.join(lower, 'etc', 'passwd'));
      expect(resolveInLayers([upper, lower], '/etc/group')).toBeUndefined();
      expect(resolveInLayers([upper, lower], '/etc/hostname')).toBe(path.join(lower, 'data', 'hostname'));
      fs.symlinkSync('../../../../../../etc/shadow', path.join(upper, 'etc', 'shadow'));
      expect(resolveInLayers([upper, lower], '/etc/shadow')).toBeUndefined();
      // A lower layer's symlink to / under a directory of the layer above must not lead to the host.
      fs.mkdirSync(path.join(upper, 'a'));
      fs.symlinkSync('/', path.join(lower, 'a'));
      expect(resolveInLayers([upper, lower], '/a/etc/hostname')).toBeUndefined();
      expect(resolveInLayers([upper, lower], '/a/etc/passwd')).toBeUndefined();
      // An image's /etc/passwd is read only below 16 MiB (a sparse file costs no disk here).
      expect(readImageFile([upper, lower], '/etc/passwd')).toBe('lower-passwd');
      fs.truncateSync(path.join(lower, 'etc', 'passwd'), 16 * 1024 * 1024 + 1);
      const tooLarge = "the image's /etc/passwd is larger than 16 MiB: box does not read it";
      expect(() => readImageFile([upper, lower], '/etc/passwd')).toThrow(tooLarge);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves a full configuration and refuses bad input with a clear message', () => {
    const image = {
      ref: 'img',
      id: 'sha256:x',
      config: {
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'], Env: ['FOO=bar'] },
        rootfs: { type: 'layers' as const, diff_ids: [] },
      },
      lowerDirs: [],
    };
    const c = resolveContainerConfig(flags({ tty: true }), image, [], 'ab'.repeat(32));
    expect(c.hostname).toBe('abababababab');
    expect(c.args).toEqual(['sh']);
    expect(c.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=abababababab',
      'FOO=bar',
      'HOME=/',
      'TERM=xterm',
    ]);
    expect(() => resolveContainerConfig(flags({ network: 'a/b' }), image, [], 'a'.repeat(64))).toThrow(
      /invalid --network "a\/b": use bridge, none, host or the name of a network/,
    );
    const bridged = resolveContainerConfig(
      flags({ network: 'app', dns: ['9.9.9.9'], addHost: ['db=10.0.0.5'] }),
      image,
      [],
      'a'.repeat(64),
    );
    expect(bridged).toMatchObject({
      network: 'app',
      dns: { servers: ['9.9.9.9'], search: [], options: [] },
      extraHosts: ['db:10.0.0.5'],
    });
    const noCmd = { ...image, config: { ...image.config, config: {} } };
    expect(() => resolveContainerConfig(flags(), noCmd, [], 'a'.repeat(64))).toThrow(/no command specified/);
  });

  it('checks the network flags before anything else', () => {
    const bad: Array<[Partial<RunFlags>, RegExp]> = [
      [{ network: 'host', ip: '10.0.0.2' }, /--ip needs a bridge network: it means nothing with --network host/],
      [{ network: 'none', networkAlias: ['x'] }, /--network-alias needs a bridge network/],
      [{ network: 'bridge', networkAlias: ['x'] }, /user-defined networks only/],
      [{ network: 'app', ip: '10.0.0.300' }, /invalid --ip "10.0.0.300"/],
      [{ network: 'app', macAddress: '03:00:00:00:00:01' }, /invalid --mac-address/],
      [{ addHost: ['db'] }, /invalid --add-host "db": expected NAME:ADDRESS/],
      [{ dns: ['resolver'] }, /invalid --dns "resolver"/],
      [{ network: 'host', dns: ['1.1.1.1'] }, /cannot be used with --network host/],
    ];
    for (const [f, message] of bad) expect(() => parseRunFlags(flags(f))).toThrow(message);
    expect(parseRunFlags(flags({ network: 'app', macAddress: '02-42-AC-11-00-02' })).network.mac).toBe(
      '02:42:ac:11:00:02',
    );
  });

  it('parses import --change instructions', () => {
    expect(parseChanges(['CMD ["sh"]', 'ENV A=1 B=2', 'WORKDIR /app', 'USER app', 'ENTRYPOINT echo hi'])).toEqual({
      Cmd: ['sh'],
      Env: ['A=1', 'B=2'],
      WorkingDir: '/app',
      User: 'app',
      Entrypoint: ['/bin/sh', '-c', 'echo hi'],
    });
    expect(() => parseChanges(['RUN x'])).toThrow(/supports CMD/);
  });
});
