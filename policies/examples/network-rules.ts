// An example policy in TypeScript: rules for a container's network and published ports.
//
//   - the host's network and another container's network are refused; every bridge network the
//     container joins (at its start or by `box network connect`) must be one of `networks`
//     (argument, comma-separated, default: any);
//   - the DNS servers it names with --dns must be among `dns-servers` (argument, comma-separated,
//     default: any), so that it cannot bypass the resolvers the host chose;
//   - a port published on the loopback address (-p 127.0.0.1:8080:80) is always allowed: only
//     the host reaches it; a port published on other addresses must be one of `public-ports`
//     (argument, comma-separated ports and ranges such as 80,443,8000-8999, default none);
//   - with `unpublish=true`, a container that publishes a port it may not is started with no
//     published port at all (a patch) instead of being refused;
//   - a container labelled `network.isolated=true` is started with no network (a patch).
//
// Build, test and use it:
//   box policy build network-rules.ts -o network-rules.wasm
//   box policy test network-rules.wasm network-rules.cases.yaml
//   box run --policy ./network-rules.wasm --policy-arg public-ports=8000-8999 -p 8080:80 IMAGE
/// <reference path="../types/box-policy.d.ts" />
import type { Info, Patch, Request, Verdict } from 'box:policy/admission@0.2.0';

function argument(req: Request, key: string): string | undefined {
  let value: string | undefined;
  for (const [k, v] of req.args) if (k === key) value = v; // the last one wins
  return value;
}

const listOf = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** "8000-8999" or "80" as [low, high]; undefined when it is neither */
function range(item: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
  if (!m) return undefined;
  const low = Number(m[1]);
  const high = Number(m[2] ?? m[1]);
  return low >= 1 && low <= high && high <= 65535 ? [low, high] : undefined;
}

const loopback = (ip: string) => ip === '::1' || ip.startsWith('127.');

function patchOf(network: Patch['network']): Patch {
  const nothingElse = { dropCapabilities: [], readOnlyMounts: [], addEnv: [], addLabels: [] };
  return { ...nothingElse, readOnlyRootfs: false, noNewPrivileges: false, network };
}

export const admission = {
  describe(): Info {
    return {
      name: 'network-rules',
      version: '1.0.0',
      description:
        'Allowed bridge networks only, ports published beyond loopback only from a list, isolation by label.',
      arguments: [
        { name: 'networks', description: 'comma-separated bridge networks containers may join (default: any)' },
        {
          name: 'dns-servers',
          description: 'comma-separated DNS servers containers may name with --dns (default: any)',
        },
        {
          name: 'public-ports',
          description: 'comma-separated host ports and ranges that may be published beyond loopback (default none)',
        },
        { name: 'unpublish', description: 'true: unpublish every port instead of refusing a disallowed one' },
      ],
    };
  },

  evaluate(req: Request): Verdict {
    const c = req.container;
    const reasons: string[] = [];
    const mode = c.network.mode;
    if (mode.tag === 'host') reasons.push(`container ${c.name}: the host's network is not allowed`);
    if (mode.tag === 'container') reasons.push(`container ${c.name}: container ${mode.val}'s network is not allowed`);
    if (mode.tag === 'namespace')
      reasons.push(`container ${c.name}: joining network namespace ${mode.val} is not allowed`);
    const networks = argument(req, 'networks');
    // every network it joins (a request written by hand may give only the mode)
    const joined = new Set([...(mode.tag === 'bridge' ? [mode.val] : []), ...c.network.networks.map((n) => n.name)]);
    for (const name of joined) {
      if (networks === undefined || listOf(networks).includes(name)) continue;
      const allowed = listOf(networks).join(', ') || 'none';
      reasons.push(`container ${c.name}: network ${name} is not allowed (allowed: ${allowed})`);
    }
    const dnsServers = argument(req, 'dns-servers');
    const unknownDns = c.network.dns.servers.filter((s) => dnsServers !== undefined && !listOf(dnsServers).includes(s));
    if (unknownDns.length)
      reasons.push(
        `container ${c.name}: DNS server ${unknownDns.join(', ')} is not allowed (dns-servers=${dnsServers})`,
      );
    const ranges: [number, number][] = [];
    for (const item of listOf(argument(req, 'public-ports') ?? '')) {
      const r = range(item);
      if (!r) {
        const problem = `policy argument public-ports: ${item} is not a port or a range (e.g. 80,443,8000-8999)`;
        return { decision: 'deny', reasons: [problem], warnings: [] };
      }
      ranges.push(r);
    }
    const refused = c.network.publishedPorts
      .filter((p) => !loopback(p.hostIp) && !ranges.some(([low, high]) => p.hostPort >= low && p.hostPort <= high))
      .map((p) => `${p.hostPort}/${p.protocol}`);
    const unpublish = argument(req, 'unpublish') === 'true';
    if (refused.length && !unpublish)
      reasons.push(
        `container ${c.name}: publishing ${refused.join(', ')} beyond loopback is not allowed ` +
          '(publish on 127.0.0.1 or on an allowed public port)',
      );
    if (reasons.length) return { decision: 'deny', reasons, warnings: [] };
    if (c.labels.some(([k, v]) => k === 'network.isolated' && v === 'true') && mode.tag !== 'none')
      return { decision: 'allow', reasons: [], warnings: ['isolated: no network'], patch: patchOf('disconnect') };
    if (refused.length)
      return {
        decision: 'allow',
        reasons: [],
        warnings: [`ports unpublished: ${refused.join(', ')} may not be published beyond loopback`],
        patch: patchOf('unpublish-ports'),
      };
    return { decision: 'allow', reasons: [], warnings: [] };
  },
};
