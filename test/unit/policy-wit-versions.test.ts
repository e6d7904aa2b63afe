// What a box:policy@0.1 policy is given under this box (one request per network, projected onto
// 0.1's types) and how its verdicts on each network become one.
import { describe, expect, it } from 'vitest';
import { emptyRequest } from '../../src/policy/request';
import type { PolicyPatch, PolicyRequest, PolicyVerdict } from '../../src/policy/types';
import { combineVerdicts, isV01, requestsForV01 } from '../../src/policy/wit-versions';

function withNetwork(network: Partial<PolicyRequest['container']['network']>): PolicyRequest {
  const r = emptyRequest();
  r.container.network = { ...r.container.network, ...network };
  return r;
}

const endpoint = (name: string) => ({ name, driver: 'bridge', internal: false, aliases: [] });
const port = { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const };

describe('a request projected onto box:policy@0.1', () => {
  it('is one request per network, each with that network as the mode and the published ports', () => {
    const r = withNetwork({
      mode: { tag: 'bridge', val: 'app' },
      networks: [endpoint('app'), { ...endpoint('backend'), internal: true, aliases: ['db'] }],
      publishedPorts: [port],
      dns: { servers: ['192.0.2.53'], search: [], options: [] },
      extraHosts: ['gw:192.0.2.1'],
    });
    const projected = requestsForV01(r);
    // exactly 0.1's network record: no endpoints, DNS or extra hosts
    expect(projected.map((p) => p.container.network)).toEqual([
      { mode: { tag: 'bridge', val: 'app' }, publishedPorts: [port] },
      { mode: { tag: 'bridge', val: 'backend' }, publishedPorts: [port] },
    ]);
    // everything else as it is
    const { network: _n, ...rest } = r.container;
    for (const p of projected) {
      const { network: _m, ...restV01 } = p.container;
      expect(restV01).toEqual(rest);
      expect(p.host).toEqual(r.host);
      expect(p.args).toEqual(r.args);
    }
  });

  it('is the request as it is for none, host and another container (no network list)', () => {
    for (const mode of [{ tag: 'none' }, { tag: 'host' }, { tag: 'container', val: 'db' }] as const) {
      const projected = requestsForV01(withNetwork({ mode }));
      expect(projected.map((p) => p.container.network)).toEqual([{ mode, publishedPorts: [] }]);
    }
  });

  it('shows a namespace joined by path (box oci) as the container(PATH) 0.1 policies were always given', () => {
    const projected = requestsForV01(withNetwork({ mode: { tag: 'namespace', val: '/var/run/netns/cni-1' } }));
    expect(projected[0].container.network.mode).toEqual({ tag: 'container', val: '/var/run/netns/cni-1' });
  });

  it('is what box gives policies exporting 0.1.x only', () => {
    expect(['0.1.0', '0.1.7', '0.2.0', '1.1.0'].map(isV01)).toEqual([true, true, false, false]);
  });
});

const allow = (patch?: Partial<PolicyPatch>, warnings: string[] = []): PolicyVerdict => ({
  decision: 'allow',
  reasons: [],
  warnings,
  ...(patch
    ? {
        patch: {
          dropCapabilities: [],
          readOnlyMounts: [],
          readOnlyRootfs: false,
          noNewPrivileges: false,
          addEnv: [],
          addLabels: [],
          ...patch,
        },
      }
    : {}),
});

describe("a 0.1 policy's verdicts on each network, combined", () => {
  it('deny when one network is denied, with every reason and warning once', () => {
    const v = combineVerdicts([
      allow(undefined, ['w1']),
      { decision: 'deny', reasons: ['network backend is not allowed', 'port 80'], warnings: ['w1', 'w2'] },
      { decision: 'deny', reasons: ['network other is not allowed', 'port 80'], warnings: [] },
    ]);
    expect(v).toEqual({
      decision: 'deny',
      reasons: ['network backend is not allowed', 'port 80', 'network other is not allowed'],
      warnings: ['w1', 'w2'],
    });
  });

  it('allow with the patch they share and the strongest network restriction any asked for', () => {
    const v = combineVerdicts([
      allow({ readOnlyRootfs: true, network: 'unpublish-ports' }),
      allow({ readOnlyRootfs: true, network: 'disconnect' }),
      allow({ readOnlyRootfs: true }),
    ]);
    expect(v).toMatchObject({ decision: 'allow', patch: { readOnlyRootfs: true, network: 'disconnect' } });
    // no patch and an empty one are the same; none at all stays none
    expect(combineVerdicts([allow(), allow({})])).toMatchObject({ decision: 'allow', patch: {} });
    expect(combineVerdicts([allow(), allow()])).toEqual({ decision: 'allow', reasons: [], warnings: [] });
  });

  it('cannot combine patches that differ in more than the network restriction: a failure saying why', () => {
    const v = combineVerdicts([allow({ readOnlyRootfs: true }), allow({ addEnv: [['A', '1']] })]);
    expect(v).toMatch(/different patches for the container's networks.*rebuild it against box:policy@0\.2\.0/);
  });
});
