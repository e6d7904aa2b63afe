// Admission in box-runc: every `create` is judged by box's default policies (/etc/box/policies.d,
// the storage root's policies.d, $BOX_POLICY), the same engine and audit log as `box run`. The
// bundle is shown to policies as box's own container configuration (configOf): the image from the
// annotations containerd and CRI-O set, the pod, namespace and container names as labels, the
// limits, capabilities and namespaces from the spec; its mounts are added to the request as they
// are. A denial fails the create with every reason; a patch is applied to the spec (patchedSpec).
import { capsToNames, DOCKER_DEFAULT_CAP_MASK, resolveCapabilities } from '../linux/capabilities';
import type { CgroupLimits } from '../linux/cgroups';
import type { ContainerConfig } from '../model';
import type { Roots } from '../paths';
import type { Admission, Subject } from '../policy/admission';
import { BoxError } from '../errors';
import type { NamespaceMode, PolicyContainer, PolicyMount, Propagation } from '../policy/types';
import type { OciConfig, OciMount } from './config';

/** Where containerd (CRI), CRI-O and plain OCI tools put the image a container runs. */
const IMAGE_ANNOTATIONS = [
  'io.kubernetes.cri.image-name',
  'io.kubernetes.cri-o.ImageName',
  'org.opencontainers.image.ref.name',
];

/** containerd's CRI annotations under the label names Kubernetes uses (CRI-O sets these directly). */
const LABEL_ANNOTATIONS: Record<string, string> = {
  'io.kubernetes.cri.sandbox-name': 'io.kubernetes.pod.name',
  'io.kubernetes.cri.sandbox-namespace': 'io.kubernetes.pod.namespace',
  'io.kubernetes.cri.container-name': 'io.kubernetes.container.name',
};

const capNames = (mask: bigint) => capsToNames(mask).map((n) => n.replace(/^CAP_/, ''));

/** The bundle as box's container configuration, the form policies are given. */
export function configOf(c: OciConfig): ContainerConfig {
  const a = c.annotations;
  const image = IMAGE_ANNOTATIONS.map((k) => a[k]).find(Boolean) ?? '';
  const labels = { ...a };
  for (const [from, to] of Object.entries(LABEL_ANNOTATIONS)) if (a[from] !== undefined) labels[to] ??= a[from];
  const p = c.process;
  return {
    image: { ref: image, id: a['io.kubernetes.cri.image-id'] ?? '', reference: image || undefined },
    layers: [],
    hostname: c.hostname ?? '',
    args: [...p.args],
    entrypoint: [],
    cmd: [...p.args],
    env: [...p.env],
    workingDir: p.cwd,
    user: { spec: `${p.user.uid}:${p.user.gid}`, ...p.user, additionalGids: [...p.user.additionalGids] },
    tty: p.terminal,
    openStdin: false,
    network: c.namespaces.has('network') || c.joined.some((j) => j.type === 'network') ? 'none' : 'host',
    readOnly: c.root.readonly,
    init: false,
    privileged: false,
    // Docker's defaults plus and minus: what makes policyContainer list exactly the bounding set
    capAdd: capNames(p.caps.bounding & ~DOCKER_DEFAULT_CAP_MASK),
    capDrop: capNames(DOCKER_DEFAULT_CAP_MASK & ~p.caps.bounding),
    noNewPrivileges: p.noNewPrivileges,
    seccomp: c.seccomp ? 'linux.seccomp' : 'unconfined',
    seccompProfile: c.seccomp,
    ulimits: p.rlimits.map((u) => ({ ...u })),
    limits: { ...c.limits },
    labels,
  };
}

const PROPAGATIONS: readonly Propagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const PROPAGATION_FLAGS: Record<number, Propagation> = {};
for (const [i, flag] of [1 << 18, 1 << 20, 1 << 19].entries()) {
  PROPAGATION_FLAGS[flag] = PROPAGATIONS[i * 2];
  PROPAGATION_FLAGS[flag | 16384] = PROPAGATIONS[i * 2 + 1];
}

/** The spec's bind and tmpfs mounts as policies see mounts; kernel file systems (proc, sysfs...) are not listed. */
function policyMounts(mounts: OciMount[]): PolicyMount[] {
  return mounts.flatMap((m): PolicyMount[] => {
    if (!m.bind && m.type !== 'tmpfs') return [];
    const propagation = PROPAGATION_FLAGS[m.propagation];
    return [
      {
        kind: m.bind ? 'bind' : 'tmpfs',
        source: m.source,
        destination: m.destination,
        readOnly: (m.flags & 1) !== 0,
        ...(propagation ? { propagation } : {}),
        options: m.data ? m.data.split(',') : [],
      },
    ];
  });
}

/** What box's model cannot say: the bundle's mounts and which namespaces it shares with the host. */
export function completeRequest(c: OciConfig, container: PolicyContainer): void {
  const mode = (ns: 'pid' | 'ipc' | 'uts' | 'cgroup'): NamespaceMode => {
    const joined = c.joined.find((j) => j.type === ns);
    if (joined) return { tag: 'container', val: joined.path };
    return c.namespaces.has(ns) ? { tag: 'private' } : { tag: 'host' };
  };
  const net = c.joined.find((j) => j.type === 'network');
  if (net) container.network = { ...container.network, mode: { tag: 'namespace', val: net.path } };
  container.mounts = policyMounts(c.mounts);
  container.namespaces = {
    pid: mode('pid'),
    ipc: mode('ipc'),
    uts: mode('uts'),
    user: { tag: 'host' },
    cgroup: mode('cgroup'),
  };
}

/**
 * The spec with the admitted configuration's changes (a patch only ever tightens), and the bind
 * mounts the patches name made read-only.
 */
export function patchedSpec(
  c: OciConfig,
  before: ContainerConfig,
  after: ContainerConfig,
  readOnlyMounts: string[] = [],
): OciConfig {
  const out: OciConfig = { ...c, process: { ...c.process }, root: { ...c.root }, namespaces: new Set(c.namespaces) };
  const mask = (x: ContainerConfig) =>
    resolveCapabilities({ privileged: x.privileged, capAdd: x.capAdd, capDrop: x.capDrop });
  const dropped = mask(before) & ~mask(after);
  if (dropped) {
    const k = c.process.caps;
    out.process.caps = {
      bounding: k.bounding & ~dropped,
      effective: k.effective & ~dropped,
      permitted: k.permitted & ~dropped,
      inheritable: k.inheritable & ~dropped,
      ambient: k.ambient & ~dropped,
    };
  }
  out.limits = { ...after.limits };
  out.process.rlimits = after.ulimits.map((u) => ({ ...u }));
  out.process.env = [...after.env];
  out.process.noNewPrivileges = after.noNewPrivileges;
  out.root.readonly = after.readOnly;
  if (after.network === 'none' && !c.joined.some((j) => j.type === 'network')) out.namespaces.add('network');
  const ro = new Set(readOnlyMounts);
  out.mounts = c.mounts.map((m) => (m.bind && ro.has(m.destination) ? { ...m, flags: m.flags | 1 } : m));
  const added = Object.entries(after.labels).filter(([k, v]) => before.labels[k] !== v);
  out.annotations = { ...c.annotations, ...Object.fromEntries(added) };
  return out;
}

/**
 * Runs the default policies on a bundle about to be created; returns the spec to create (patched)
 * or throws a BoxError with every reason of every denial. No policies: the spec as it is.
 */
export async function admitBundle(
  config: OciConfig,
  id: string,
  roots: Roots,
  warn: (m: string) => void,
  others: () => CgroupLimits[] = () => [],
): Promise<OciConfig> {
  const { defaultPolicies } = require('../policy/sources') as typeof import('../policy/sources');
  const refs = defaultPolicies(roots);
  if (!refs.length) return config;
  const { admit } = require('../policy/admission') as typeof import('../policy/admission');
  const { appendEvent } = require('../runtime/events') as typeof import('../runtime/events');
  const { commit, committedResources } = require('../runtime/committed') as typeof import('../runtime/committed');
  const before = configOf(config);
  const name = config.annotations['io.kubernetes.cri.container-name'] ?? id;
  const subject: Subject = {
    roots,
    id,
    name,
    config: before,
    warn,
    // box's containers and box-runc's (`others`: those not stopped), for a capacity policy
    committed: () => {
      const c = committedResources(roots, id);
      for (const l of others()) commit(c, l);
      return c;
    },
    event: (container, attributes) => appendEvent(roots, 'policy', container, attributes),
    complete: (container) => completeRequest(config, container),
  };
  let admission: Admission;
  try {
    admission = await admit(subject, refs, { policies: [], args: [], noDefaults: false });
  } catch (err) {
    // every reason on one line: a client shows the runtime's last log line (`kubectl describe pod`)
    if (err instanceof BoxError) throw new BoxError(err.message.split('\nbox: ').join('; '));
    throw err;
  }
  admission.finish(name);
  const readOnly = admission.patches.flatMap((p) => p.readOnlyMounts);
  return patchedSpec(config, before, admission.config, readOnly);
}
