// The request a policy gets is made from the resolved container configuration: every `box run`
// flag and every part of the image's configuration that box knows reaches its field.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageProvenance } from '../../src/image/reference';
import { policyRequest } from '../../src/policy/request';
import { RunFlags, runFlagsFrom } from '../../src/runtime/run-flags';
import { resolveContainerConfig } from '../../src/runtime/run-options';
import { parseNetworkFlags } from '../../src/network/flags';
import { BOX_VERSION } from '../../src/version';

const ID = 'sha256:' + 'c'.repeat(64);
const DIGEST = 'sha256:' + 'd'.repeat(64);
const HOST = {
  cpus: 2,
  memoryTotal: 4 * 2 ** 30,
  cgroupVersion: 2 as const,
  storageRoot: '/var/lib/box',
  runtimeRoot: '/run/box',
  committed: { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n },
};

describe('the policy request', () => {
  it('carries every flag and the image configuration', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-request-'));
    try {
      fs.mkdirSync(path.join(dir, 'etc'));
      fs.writeFileSync(
        path.join(dir, 'etc', 'passwd'),
        'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
      );
      fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nvideo:x:44:app\n');
      const envFile = path.join(dir, 'env');
      fs.writeFileSync(envFile, 'FROM_FILE=1\n');
      const flags = runFlagsFrom({
        name: 'web',
        hostname: 'web-host',
        env: ['A=1'],
        envFile: [envFile],
        workdir: '/srv',
        user: 'app',
        entrypoint: '/bin/entry',
        tty: true,
        interactive: true,
        network: 'host',
        readOnly: true,
        init: true,
        privileged: false,
        capAdd: ['NET_ADMIN'],
        capDrop: ['NET_RAW', 'MKNOD'],
        securityOpt: ['no-new-privileges=false', 'seccomp=unconfined'],
        ulimit: ['nofile=1024:2048'],
        memory: '256m',
        memorySwap: '512m',
        memoryReservation: '128m',
        cpuShares: '512',
        cpuPeriod: '50000',
        cpuQuota: '25000',
        cpusetCpus: '0',
        pidsLimit: '100',
        label: ['team=a', 'tier=web'],
        rm: false,
        restart: 'on-failure:3',
        stopSignal: 'SIGINT',
      } satisfies Partial<RunFlags>);
      const image = {
        ref: 'registry.example.com:5000/team/app:1',
        id: ID,
        tags: ['registry.example.com:5000/team/app:1'],
        repoDigests: [`registry.example.com:5000/team/app@${DIGEST}`],
        lowerDirs: [dir],
        config: {
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers' as const, diff_ids: [] },
          config: {
            User: 'nobody',
            Env: ['PATH=/bin', 'IMG=1'],
            Entrypoint: ['/init'],
            Cmd: ['serve'],
            WorkingDir: '/app',
            Labels: { tier: 'image', maintainer: 'me' },
            ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
            Volumes: { '/data': {} },
          },
        },
      };
      const config = resolveContainerConfig(flags, image, ['run', '--fast'], 'e'.repeat(64));
      const host = {
        cpus: 2,
        memoryTotal: 4 * 2 ** 30,
        cgroupVersion: 1 as const,
        storageRoot: '/var/lib/box',
        runtimeRoot: '/run/box',
        committed: { containers: 1, memory: 1n, unlimitedMemory: 0, millicpus: 100n, unlimitedCpu: 0, pids: 5n },
      };
      const req = policyRequest(config, { name: 'web', host, caller: { uid: 0, gid: 0 }, args: [['k', 'v']] });
      expect(req.container).toEqual({
        name: 'web',
        hostname: 'web-host',
        image: {
          reference: 'registry.example.com:5000/team/app:1',
          id: ID,
          digest: DIGEST,
          labels: [
            ['maintainer', 'me'],
            ['tier', 'image'],
          ],
          env: ['PATH=/bin', 'IMG=1'],
          entrypoint: ['/init'],
          cmd: ['serve'],
          user: 'nobody',
          workingDir: '/app',
          exposedPorts: ['53/udp', '8080/tcp'],
        },
        args: ['/bin/entry', 'run', '--fast'],
        entrypoint: ['/bin/entry'],
        cmd: ['run', '--fast'],
        user: { spec: 'app', uid: 1000, gid: 1000, additionalGids: [1000, 44] },
        workingDir: '/srv',
        env: ['HOSTNAME=web-host', 'PATH=/bin', 'IMG=1', 'HOME=/home/app', 'TERM=xterm', 'FROM_FILE=1', 'A=1'],
        labels: [
          ['maintainer', 'me'],
          ['team', 'a'],
          ['tier', 'web'],
        ],
        mounts: [],
        resources: {
          memory: 256n << 20n,
          memorySwap: 512n << 20n,
          memoryReservation: 128n << 20n,
          cpuQuota: 25000n,
          cpuPeriod: 50000n,
          cpuShares: 512n,
          cpusetCpus: '0',
          cpusetMems: undefined,
          pidsLimit: 100n,
          ulimits: [{ name: 'nofile', soft: 1024n, hard: 2048n }],
        },
        security: {
          privileged: false,
          capabilities: [
            'AUDIT_WRITE',
            'CHOWN',
            'DAC_OVERRIDE',
            'FOWNER',
            'FSETID',
            'KILL',
            'NET_ADMIN',
            'NET_BIND_SERVICE',
            'SETFCAP',
            'SETGID',
            'SETPCAP',
            'SETUID',
            'SYS_CHROOT',
          ],
          seccompProfile: 'unconfined',
          noNewPrivileges: false,
          readOnlyRootfs: true,
        },
        namespaces: {
          pid: { tag: 'private' },
          ipc: { tag: 'private' },
          uts: { tag: 'private' },
          user: { tag: 'private' },
          cgroup: { tag: 'private' },
        },
        network: {
          mode: { tag: 'host' },
          networks: [],
          publishedPorts: [],
          dns: { servers: [], search: [], options: [] },
          extraHosts: [],
        },
        restart: { condition: 'on-failure', maximumRetries: 3 },
        tty: true,
        init: true,
      });
      expect(req.host).toEqual({ ...host, memoryTotal: 4n << 30n });
      // a bridge network is bridge(NAME), with the ports box publishes
      const ports = [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];
      const bridged = policyRequest(
        { ...config, network: 'app', ports },
        { name: 'web', host, caller: { uid: 0, gid: 0 }, args: [] },
      );
      expect(bridged.container.network).toMatchObject({ mode: { tag: 'bridge', val: 'app' }, publishedPorts: ports });
      expect(req.caller).toEqual({ uid: 0, gid: 0 });
      expect(req.args).toEqual([['k', 'v']]);
      expect(req.boxVersion).toBe(BOX_VERSION);
      // What inspect shows comes from the same configuration.
      expect(config.image.config?.Volumes).toEqual({ '/data': {} });
      expect(config.labels).toEqual({ tier: 'web', maintainer: 'me', team: 'a' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("carries every network (what was asked for each), DNS settings and extra hosts from box run's flags", () => {
    const flags = runFlagsFrom({
      name: 'db',
      network: 'app',
      ip: '10.89.0.7',
      macAddress: '02:42:AC:11:00:09',
      networkAlias: ['database', 'sql'],
      addHost: ['gw:192.0.2.1', 'api:192.0.2.2'],
      dns: ['192.0.2.53'],
      dnsSearch: ['example.com'],
      dnsOption: ['ndots:2'],
      publish: ['127.0.0.1:5432:5432'],
    } satisfies Partial<RunFlags>);
    const image = {
      ref: 'app',
      id: ID,
      lowerDirs: [],
      config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] }, config: {} },
    };
    const config = resolveContainerConfig(flags, image, ['postgres'], 'f'.repeat(64));
    // what createRecord's endpointsFor makes of the flags, then a second network as `box network connect` adds it
    const net = parseNetworkFlags(flags);
    const [app, back] = ['a'.repeat(64), 'b'.repeat(64)];
    config.networks = [
      { networkId: app, name: net.mode, aliases: net.aliases, ip: net.ip, mac: net.mac },
      { networkId: back, name: 'backend', aliases: ['db'] },
    ];
    config.ports = [{ hostIp: '127.0.0.1', hostPort: 5432, containerPort: 5432, protocol: 'tcp' }];
    const networks = { [back]: { driver: 'bridge', internal: true } };
    const req = policyRequest(config, { name: 'db', host: HOST, caller: { uid: 0, gid: 0 }, args: [], networks });
    expect(req.container.network).toEqual({
      mode: { tag: 'bridge', val: 'app' },
      networks: [
        {
          name: 'app',
          // a network the store does not know (removed meanwhile) is shown as a plain bridge
          driver: 'bridge',
          internal: false,
          ipv4Address: '10.89.0.7',
          macAddress: '02:42:ac:11:00:09',
          aliases: ['database', 'sql'],
        },
        { name: 'backend', driver: 'bridge', internal: true, aliases: ['db'] },
      ],
      publishedPorts: [{ hostIp: '127.0.0.1', hostPort: 5432, containerPort: 5432, protocol: 'tcp' }],
      dns: { servers: ['192.0.2.53'], search: ['example.com'], options: ['ndots:2'] },
      extraHosts: ['gw:192.0.2.1', 'api:192.0.2.2'],
    });
    expect(req.container.hostname).toBe('f'.repeat(12));
  });

  it('gives the reference fully qualified, and for an image given by id its names or the id when the registry is unknown', () => {
    const hub = { id: ID, tags: ['busybox:latest'], repoDigests: [`busybox@${DIGEST}`] };
    expect(imageProvenance('busybox', hub)).toEqual({ reference: 'docker.io/library/busybox:latest', digest: DIGEST });
    expect(imageProvenance(ID, hub)).toEqual({ reference: 'docker.io/library/busybox:latest', digest: DIGEST });
    expect(imageProvenance('cccc', hub)).toEqual({ reference: 'docker.io/library/busybox:latest', digest: DIGEST });
    const local = { id: ID, tags: ['127.0.0.1:5000/team/app:v1'], repoDigests: [`127.0.0.1:5000/team/app@${DIGEST}`] };
    expect(imageProvenance(ID.slice(7, 19), local)).toEqual({
      reference: '127.0.0.1:5000/team/app:v1',
      digest: DIGEST,
    });
    // Untagged, but pulled: the repository it was pulled from.
    expect(imageProvenance(ID, { id: ID, tags: [], repoDigests: [`127.0.0.1:5000/team/app@${DIGEST}`] })).toEqual({
      reference: `127.0.0.1:5000/team/app@${DIGEST}`,
      digest: DIGEST,
    });
    // No name at all, or names in two registries: the registry is unknown.
    expect(imageProvenance(ID, { id: ID, tags: [], repoDigests: [] })).toEqual({ reference: ID });
    expect(imageProvenance(ID, { id: ID, tags: ['busybox:latest', '127.0.0.1:5000/bb:1'], repoDigests: [] })).toEqual({
      reference: ID,
    });
    // An imported image's own name, without a digest.
    expect(imageProvenance('myapp:1.0', { id: ID, tags: ['myapp:1.0'], repoDigests: [] })).toEqual({
      reference: 'docker.io/library/myapp:1.0',
      digest: undefined,
    });
  });

  it('carries the mounts: kind, source as box resolved it, destination, read-only, propagation, options', async () => {
    const { parseMountFlags } = await import('../../src/volume/mount-flags');
    const { mountConfigs } = await import('../../src/volume/attach');
    const mounts = mountConfigs(
      parseMountFlags({
        volume: ['data:/data:ro,nocopy', '/srv/site:/site:rslave', '/anon'],
        mount: ['type=bind,source=/srv/x,target=/x,bind-nonrecursive'],
        tmpfs: ['/t:size=1m,mode=1777'],
      }),
    );
    const image = {
      ref: 'img',
      id: ID,
      lowerDirs: [],
      config: {
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers' as const, diff_ids: [] },
      },
    };
    const config = { ...resolveContainerConfig(runFlagsFrom({}), image, [], 'e'.repeat(64)), mounts };
    const host = {
      cpus: 2,
      memoryTotal: 2 ** 30,
      cgroupVersion: 2 as const,
      storageRoot: '/var/lib/box',
      runtimeRoot: '/run/box',
      committed: { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n },
    };
    const req = policyRequest(config, { name: 'm', host, caller: { uid: 0, gid: 0 }, args: [] });
    expect(req.container.mounts).toEqual([
      {
        kind: 'volume',
        source: 'data',
        destination: '/data',
        readOnly: true,
        propagation: 'rprivate',
        options: ['nocopy'],
      },
      { kind: 'bind', source: '/srv/site', destination: '/site', readOnly: false, propagation: 'rslave', options: [] },
      {
        kind: 'volume',
        source: '',
        destination: '/anon',
        readOnly: false,
        propagation: 'rprivate',
        options: ['anonymous'],
      },
      {
        kind: 'bind',
        source: '/srv/x',
        destination: '/x',
        readOnly: false,
        propagation: 'rprivate',
        options: ['bind-nonrecursive'],
      },
      {
        kind: 'tmpfs',
        source: '',
        destination: '/t',
        readOnly: false,
        propagation: undefined,
        options: ['size=1m', 'mode=1777'],
      },
    ]);
    // A build step's mounts of what box made under its storage are shown as volumes named by their
    // origin (a policy refusing binds of box's storage must not refuse RUN --mount=type=cache)
    const built = policyRequest(
      {
        ...config,
        mounts: [
          {
            type: 'bind',
            source: '/var/lib/box/build-cache/mounts/ab',
            target: '/c',
            readOnly: false,
            origin: 'build',
            buildSource: 'cache go-build',
          },
          { type: 'tmpfs', source: '', target: '/t', readOnly: false, origin: 'build', tmpfsOptions: 'exec' },
        ],
      },
      { name: 'm', host, caller: { uid: 0, gid: 0 }, args: [] },
    );
    expect(built.container.mounts).toEqual([
      {
        kind: 'volume',
        source: 'cache go-build',
        destination: '/c',
        readOnly: false,
        propagation: 'rprivate',
        options: ['build'],
      },
      {
        kind: 'tmpfs',
        source: '',
        destination: '/t',
        readOnly: false,
        propagation: undefined,
        options: ['build', 'exec'],
      },
    ]);
  });
});
