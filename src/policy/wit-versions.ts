// The versions of box's policy interface that box runs, and what a policy built for an older one
// is given (policies/wit/README.md, "A 0.1 policy under a later box"). A 0.1 policy knows one
// network per container (`network.mode`) and nothing of endpoints, DNS or extra hosts: it is
// evaluated once per network of the container, each time seeing that network as the mode, and
// its verdicts are combined, so that a 0.1 allow-list of networks still judges every network
// (the second one of a compose service, the one `box network connect` adds).
import type { NetworkMode, PolicyContainer, PolicyPatch, PolicyRequest, PolicyVerdict, PortMapping } from './types';
import { WIT_VERSION } from './types';

/** The versions box runs, newest first (each major.minor; patch versions only change documentation). */
export const SUPPORTED_WIT_VERSIONS: readonly string[] = [WIT_VERSION, '0.1.0'];

/** Is a policy exporting `version` one built for box:policy@0.1? */
export const isV01 = (version: string): boolean => version.startsWith('0.1.'); // (no regular expression to compile)

/** box:policy@0.1.0's network-mode: no `namespace` case. */
export type NetworkModeV01 = Exclude<NetworkMode, { tag: 'namespace' }>;

/** box:policy@0.1.0's request: its network record holds only the mode and the published ports. */
export interface PolicyRequestV01 extends Omit<PolicyRequest, 'container'> {
  container: Omit<PolicyContainer, 'network'> & {
    network: { mode: NetworkModeV01; publishedPorts: PortMapping[] };
  };
}

/**
 * The request projected onto 0.1: one request per network the container is attached to (bridge
 * NAME as the mode of each), or one with its mode when it has none. A namespace joined by path
 * (box oci) is the `container(PATH)` 0.1 policies were always given for it.
 */
export function requestsForV01(request: PolicyRequest): PolicyRequestV01[] {
  const { network, ...container } = request.container;
  const mode: NetworkModeV01 =
    network.mode.tag === 'namespace' ? { tag: 'container', val: network.mode.val } : network.mode;
  const modes: NetworkModeV01[] = network.networks.length
    ? network.networks.map((e) => ({ tag: 'bridge', val: e.name }))
    : [mode];
  return modes.map((m) => ({
    ...request,
    container: { ...container, network: { mode: m, publishedPorts: network.publishedPorts.map((p) => ({ ...p })) } },
  }));
}

const RESTRICTION_RANK = { 'unpublish-ports': 1, disconnect: 2 } as const;

const jsonOf = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** A patch without its network restriction, in a form two patches can be compared by. */
function patchKey(p: PolicyPatch | undefined): string {
  const none: PolicyPatch = {
    dropCapabilities: [],
    readOnlyMounts: [],
    readOnlyRootfs: false,
    noNewPrivileges: false,
    addEnv: [],
    addLabels: [],
  };
  const { network: _network, ...rest } = { ...none, ...p };
  return jsonOf(rest);
}

/**
 * One verdict from a 0.1 policy's verdicts on each network: denied if any denies, every reason
 * and warning once, in order; the patch they all gave, with the strongest network restriction
 * any asked for. Patches that differ otherwise cannot be combined: a string saying so.
 */
export function combineVerdicts(verdicts: PolicyVerdict[]): PolicyVerdict | string {
  const unique = (lists: string[][]): string[] => [...new Set(lists.flat())];
  const reasons = unique(verdicts.map((v) => v.reasons));
  const warnings = unique(verdicts.map((v) => v.warnings));
  if (verdicts.some((v) => v.decision === 'deny')) return { decision: 'deny', reasons, warnings };
  const keys = new Set(verdicts.map((v) => patchKey(v.patch)));
  if (keys.size > 1)
    return (
      "returned different patches for the container's networks, which box cannot combine (a box:policy@0.1 " +
      `policy is evaluated once per network): rebuild it against box:policy@${WIT_VERSION}`
    );
  const patches = verdicts.flatMap((v) => (v.patch ? [v.patch] : []));
  if (!patches.length) return { decision: 'allow', reasons, warnings };
  let network: PolicyPatch['network'];
  for (const p of patches)
    if (p.network && (!network || RESTRICTION_RANK[p.network] > RESTRICTION_RANK[network])) network = p.network;
  return { decision: 'allow', reasons, warnings, patch: { ...patches[0], network } };
}
