// A bundle as policies see it (the request box builds from config.json) and a patch back onto the
// spec: the capabilities listed are exactly the bounding set, the names come from containerd's
// annotations, and a patch only ever tightens the spec.
import { describe, expect, it } from 'vitest';
import { parseOciConfig } from '../../../src/oci/config';
import { completeRequest, configOf, patchedSpec } from '../../../src/oci/policy';
import { policyRequest } from '../../../src/policy/request';
import { requestsForV01 } from '../../../src/policy/wit-versions';
import { containerdCriSpec } from './examples';

const host = {
  cpus: 2,
  memoryTotal: 1 << 30,
  cgroupVersion: 1 as const,
  storageRoot: '/var/lib/box',
  runtimeRoot: '/run/box',
  committed: { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n },
};

describe('a bundle as a policy request', () => {
  it("lists the spec's capabilities, image, names, limits, mounts and namespaces", () => {
    const spec = parseOciConfig(JSON.stringify(containerdCriSpec()));
    const req = policyRequest(configOf(spec), { name: 'web', host, caller: { uid: 0, gid: 0 }, args: [] });
    completeRequest(spec, req.container);
    const c = req.container;
    expect(c.security.capabilities).toEqual(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'MKNOD', 'NET_RAW']);
    expect(c.image.reference).toBe('docker.io/library/nginx:1.25');
    expect(Object.fromEntries(c.labels)).toMatchObject({
      'io.kubernetes.pod.name': 'web-1',
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.container.name': 'web',
    });
    expect(c.resources).toMatchObject({ memory: 268435456n, cpuQuota: 50000n, pidsLimit: 100n });
    expect(c.mounts).toEqual([
      { kind: 'tmpfs', source: 'tmpfs', destination: '/dev', readOnly: false, options: ['mode=755', 'size=65536k'] },
      {
        kind: 'tmpfs',
        source: 'shm',
        destination: '/dev/shm',
        readOnly: false,
        options: ['mode=1777', 'size=65536k'],
      },
      {
        kind: 'bind',
        source: '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/hosts',
        destination: '/etc/hosts',
        readOnly: false,
        propagation: 'rprivate',
        options: [],
      },
    ]);
    expect(c.namespaces.cgroup).toEqual({ tag: 'host' });
    expect(c.namespaces.pid).toEqual({ tag: 'private' });
    expect(c.network.mode).toEqual({ tag: 'none' });
  });

  it('shows a network namespace joined by path as namespace(PATH), and to 0.1 policies as container(PATH)', () => {
    const doc = containerdCriSpec();
    const netns = '/var/run/netns/cni-1234';
    doc.linux.namespaces = doc.linux.namespaces.map((n: { type: string }) =>
      n.type === 'network' ? { type: 'network', path: netns } : n,
    );
    const spec = parseOciConfig(JSON.stringify(doc));
    const req = policyRequest(configOf(spec), { name: 'web', host, caller: { uid: 0, gid: 0 }, args: [] });
    completeRequest(spec, req.container);
    expect(req.container.network).toMatchObject({ mode: { tag: 'namespace', val: netns }, networks: [] });
    expect(requestsForV01(req).map((r) => r.container.network.mode)).toEqual([{ tag: 'container', val: netns }]);
  });

  it('applies what a patch changed to the spec, and nothing else', () => {
    const spec = parseOciConfig(JSON.stringify(containerdCriSpec()));
    const before = configOf(spec);
    const after = {
      ...before,
      capDrop: [...before.capDrop, 'NET_RAW'],
      limits: { ...before.limits, pidsLimit: 50 },
      readOnly: true,
      noNewPrivileges: true,
      env: [...before.env, 'AUDITED=1'],
    };
    const out = patchedSpec(spec, before, after, ['/etc/hosts']);
    const netRaw = 1n << 13n;
    expect(spec.process.caps.bounding & netRaw).toBe(netRaw);
    expect(out.process.caps.bounding & netRaw).toBe(0n);
    expect(out.process.caps.effective & netRaw).toBe(0n);
    expect(out.limits.pidsLimit).toBe(50);
    expect(out.root.readonly).toBe(true);
    expect(out.process.noNewPrivileges).toBe(true);
    expect(out.process.env.at(-1)).toBe('AUDITED=1');
    expect(out.mounts.find((m) => m.destination === '/etc/hosts')!.flags & 1).toBe(1);
    expect(out.mounts.find((m) => m.destination === '/dev')!.flags & 1).toBe(0);
    // the input is left as it was
    expect(spec.root.readonly).toBe(false);
    expect(spec.limits.pidsLimit).toBe(100);
  });
});
