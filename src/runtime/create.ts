// Creating a container: resolve and validate everything first (no kernel object exists until all
// input is known to be good), then create its record, files and cgroup and describe it for the
// helper. Whatever fails after the first object exists is unwound by the caller via `release`.
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { assetPath } from '../assets';
import { BoxError } from '../errors';
import type { Lock } from '../image/locks';
import { StoreLock, storeLock } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { CgroupHost, CgroupManager, checkLimits, containerCgroup, detectCgroups } from '../linux/cgroups';
import { layout, Roots } from '../paths';
import { mark } from '../util/trace';
import { plainDirBeneath } from '../util/safe-open';
import { checkName, ContainerStore, newContainerId } from './containers';
import { lockContainer } from './container-lock';
import { generateName } from './names';
import { mountBase } from './mount-base';
import { EtcFiles, writeEtcFiles } from './etc-files';
import { committedResources } from './committed';
import { appendEvent, appendEvents, PendingEvent } from './events';
import { ContainerConfig, ContainerRecord } from '../model';
import { buildSpec, needsHostPropagation } from './plan';
import { mountPointOf } from '../linux/mountinfo';
import { HelperSpec, SPEC_VERSION } from './spec';
import { parseRunFlags, resolveContainerConfig } from './run-options';
import { RunFlags } from './run-flags';
import { capabilityMask, processSecurity } from './security';
import type { Admission, AdmissionFlags, Subject } from '../policy/admission';
import { parseFailureMode, parsePolicyArgs, parsePolicyTimeout } from '../policy/flags';
import { defaultPolicies, parsePolicyRef, PolicyRef } from '../policy/sources';
import { attachMounts, mountConfigs, mountSources, resolveMounts } from '../volume/attach';
import { holdSharedTmpfs, releaseSharedTmpfs } from '../volume/shared-tmpfs';
import { MountRequest, parseMountFlags, parseVolumesFrom } from '../volume/mount-flags';
import { networkSetup } from './networks';
import type { OutputOption } from './helper';
import { checkNetworkRoom, endpointsFor, networkExists, parseNetworkFlags, portBindingsFor } from '../network/flags';
import { checkHostPortsStillFree, hostPortsFor, PublishedPort } from '../network/ports';
import { NetworkStore } from '../network/store';

export interface CreateRequest {
  roots: Roots;
  image: string;
  command: string[];
  flags: RunFlags;
  /** --policy and friends; undefined: the default policies only */
  admission?: AdmissionFlags;
  warn: (msg: string) => void;
  /**
   * The store's lock, held shared by the caller since it pulled the image (run --pull);
   * createRecord releases it once the record exists, unless keepStoreLock.
   */
  storeLock?: StoreLock;
  /**
   * `run`: createRecord leaves the store's lock held (in storeLock) for the caller to release once
   * the container has started, so that a prune (which takes it exclusively) never removes a
   * container between its creation and its start.
   */
  keepStoreLock?: boolean;
  /**
   * Called once the container's init exists (its pid, namespaces and cgroups) and before anything
   * of its own runs: where the host acts on it (runHelper's onInitReady). Throwing aborts the start.
   */
  onInitReady?: (pid: number) => void | Promise<void>;
  /** `run` in the foreground: `ignore` drops the container's output, a function takes it (build steps) */
  output?: OutputOption;
  /**
   * What the command adds to the container's configuration beyond run's flags (its log options,
   * create -i's stdinOnce): written with the record, so no second write of it follows the first
   * (each write of a record is a new file: on this kind of disk a new inode costs 0.3-0.9 ms).
   */
  recordConfig?: Pick<ContainerConfig, 'log' | 'stdinOnce'>;
  /** a build step's mounts (src/build/run-mounts.ts), besides those its flags ask for */
  buildMounts?: MountRequest[];
  /**
   * Existing anonymous volumes by target, mounted where the container would get a new anonymous
   * one: compose's recreate hands the replaced container's to its successor. They stay anonymous.
   */
  reuseAnonymous?: Record<string, string>;
  /**
   * `run`'s create: called once the record exists, before the start is prepared (no lock held);
   * returns the record as it is now. `compose run` connects the service's other networks here.
   */
  onRecorded?: (containers: ContainerStore, record: ContainerRecord) => Promise<ContainerRecord>;
}

export interface Created {
  containers: ContainerStore;
  record: ContainerRecord;
  cgroup: CgroupManager;
  spec: HelperSpec;
  helperPath: string;
  /** what the host does on the waiting init for this container itself: attach its networks */
  onInitReady?: (pid: number) => Promise<void>;
  /** `record` is the one on disk: written under the container's lock, held since (no re-read needed) */
  recordCurrent?: boolean;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new BoxError('box must run as root to create containers (rootless mode is not supported yet): use sudo');
  }
}

/**
 * Everything about a request that can be checked without its image, in this order: root, then
 * every flag value and limit. `run` and `create` call it before the image is looked up or pulled,
 * so bad input is reported as such and never costs a pull.
 */
export function checkRequest(req: CreateRequest): void {
  requireRoot();
  checkName(req.flags.name);
  const { limits, network } = parseRunFlags(req.flags);
  if (!networkExists(new NetworkStore(req.roots), network.mode)) {
    throw new BoxError(`network ${network.mode} not found: create it with box network create ${network.mode}`);
  }
  capabilityMask(req.flags);
  parseMountFlags(req.flags);
  req.flags.volumesFrom.forEach(parseVolumesFrom);
  checkLimits(detectCgroups(), limits); // its warnings are given once, by createRecord
  policiesFor(req);
  // The admission flags are checked even when no policy applies (then they would do nothing).
  const admission = req.admission ?? NO_ADMISSION_FLAGS;
  parsePolicyArgs(admission.args);
  parsePolicyTimeout(admission.timeout);
  parseFailureMode(admission.failure);
}

/**
 * The policies that decide on this start: the defaults (unless root passed
 * --no-default-policies) and --policy ones. Cheap when there are none.
 */
function policiesFor(req: CreateRequest): PolicyRef[] {
  const flags = req.admission ?? NO_ADMISSION_FLAGS;
  if (flags.noDefaults && process.getuid?.() !== 0) throw new BoxError('--no-default-policies is for root only');
  return [
    ...(flags.noDefaults ? [] : defaultPolicies(req.roots)),
    ...flags.policies.map((p) => parsePolicyRef(p, '--policy')),
  ];
}

const NO_ADMISSION_FLAGS: AdmissionFlags = { policies: [], args: [], noDefaults: false };

/**
 * Resolves, validates, admits (policies) and records a new container; no kernel object exists
 * yet.
 */
export async function createRecord(
  req: CreateRequest,
  opts: { holdLock?: boolean } = {},
): Promise<{
  containers: ContainerStore;
  record: ContainerRecord;
  known: NonNullable<Parameters<typeof prepareStart>[3]>;
  /** holdLock: the container's lock, held since before the record existed; the caller releases it */
  lock?: Lock;
}> {
  mark('run: parsed');
  requireRoot();
  // From resolving the image until the record that references it exists, garbage collection
  // (rmi, image prune) must not take the image or its layers away: it waits for this lock.
  const gcLock = req.storeLock ?? (await storeLock(req.roots, 'shared', { markOnWrite: true }));
  let kept = false;
  try {
    const created = await createRecordLocked(req, gcLock, opts.holdLock === true);
    kept = req.keepStoreLock === true;
    if (kept) req.storeLock = gcLock;
    return created;
  } finally {
    if (!kept) gcLock.release();
  }
}

async function createRecordLocked(
  req: CreateRequest,
  gcLock: StoreLock,
  holdLock: boolean,
): ReturnType<typeof createRecord> {
  const images = new ImageStore(req.roots);
  images.beforeLinkWrite = () => gcLock.markWrites();
  const imageId = images.resolve(req.image);
  if (!imageId)
    throw new BoxError(
      `image "${req.image}" not found: pull it or import it first (box pull / box import FILE ${req.image})`,
    );
  mark('image resolved');
  const image = images.get(imageId);
  // Short per-layer links keep overlay's mount data within a page for images of many layers.
  const lowerDirs = images.overlayLowerDirs(image.config);
  mark('image config read');
  checkName(req.flags.name);
  const id = newContainerId();
  // Decided before admission, so that policies and the audit log see the name the container gets.
  const name = req.flags.name ?? generateName();
  let config = resolveContainerConfig(
    req.flags,
    { ref: req.image, id: imageId, config: image.config, tags: image.tags, repoDigests: image.repoDigests, lowerDirs },
    req.command,
    id,
  );
  const mountRequests = containerMounts(req, image.config.config?.Volumes);
  if (mountRequests.length) config = { ...config, mounts: mountConfigs(mountRequests) };
  const net = parseNetworkFlags(req.flags);
  config.networks = await endpointsFor(new NetworkStore(req.roots), net);
  const bindings = portBindingsFor(net, Object.keys(image.config.config?.ExposedPorts ?? {}), req.warn);
  if (bindings.length) {
    // a taken host port is an error now, before anything exists (the running containers' count)
    config.portBindings = bindings;
    config.ports = hostPortsFor(req.roots, bindings, portsOfOthersRunning(new ContainerStore(req.roots)));
  }
  mark('config resolved');
  const cgroupHost = detectCgroups();
  for (const w of checkLimits(cgroupHost, config.limits)) req.warn(w);
  mark('cgroups detected');
  const refs = policiesFor(req);
  let admission: Admission | undefined;
  // The policies' decisions are appended with the create event, in one write (~0.05 ms of CPU a
  // start, 2026-12-05), or alone when the start ends before it.
  const policyEvents: PendingEvent[] = [];
  if (refs.length) {
    const { admit } = require('../policy/admission') as typeof import('../policy/admission'); // only when policies apply
    const subject: Subject = {
      roots: req.roots,
      id,
      name,
      config,
      warn: req.warn,
      committed: () => committedResources(req.roots, id),
      event: (container, attributes) => policyEvents.push({ action: 'policy', container, attributes }),
      cgroups: cgroupHost,
    };
    try {
      admission = await admit(subject, refs, req.admission ?? NO_ADMISSION_FLAGS);
    } finally {
      if (!admission) appendEvents(req.roots, policyEvents.splice(0)); // (denied or failed)
    }
    config = admission.config;
    mark('policies decided');
  }
  try {
    const security = processSecurity(config);
    mark('security compiled');
    const helperPath = assetPath('box-helper', layout.cache(req.roots));
    mark('helper located');

    const containers = new ContainerStore(req.roots);
    if (req.recordConfig) config = { ...config, ...req.recordConfig }; // (policies never judged these)
    // Volumes are created and their use registered only once the start is admitted.
    const detachMounts = config.mounts ? attachMounts(req.roots, id, config.mounts, mountRequests) : () => {};
    let record: ContainerRecord;
    let lock: Lock;
    try {
      ({ record, lock } = await containers.createLocked(
        id,
        config,
        name,
        req.flags.rm,
        req.flags.name === undefined,
        // what judges it again (update, connect) is what admitted it: no defaults if it had none
        { admittedBy: admission?.admittedBy, noDefaultPolicies: req.admission?.noDefaults ? true : undefined },
      ));
    } catch (err) {
      detachMounts();
      throw err;
    }
    try {
      admission?.finish(record.name);
      mark('record written');
      appendEvents(req.roots, [...policyEvents.splice(0), { action: 'create', container: record }]);
    } catch (err) {
      lock.release();
      throw err;
    }
    if (!holdLock) lock.release();
    return {
      containers,
      record,
      known: { lowerDirs, cgroupHost, security, helperPath },
      lock: holdLock ? lock : undefined,
    };
  } finally {
    admission?.finish();
    appendEvents(req.roots, policyEvents.splice(0)); // (a start that failed before its record)
  }
}

/** The mounts the flags, --volumes-from containers and the image's VOLUME paths ask for, resolved. */
function containerMounts(req: CreateRequest, imageVolumes: Record<string, object> | null | undefined): MountRequest[] {
  const from = req.flags.volumesFrom.map((raw) => {
    const { container, mode } = parseVolumesFrom(raw);
    const source = new ContainerStore(req.roots).find(container);
    if (!source) throw new BoxError(`no such container: ${container} (--volumes-from ${raw})`);
    return { id: source.id, mounts: source.config.mounts ?? [], mode };
  });
  const requests = [...parseMountFlags(req.flags), ...(req.buildMounts ?? [])];
  return resolveMounts(req.roots, requests, from, Object.keys(imageVolumes ?? {}), req.reuseAnonymous);
}

/**
 * `run`'s create: the record, then its start prepared under the container's lock, which the caller
 * holds on (and releases) until the run is recorded or owned: a box command finding the container's
 * cgroup with the lock free knows the start was killed (owner.ts isStartAbandoned).
 */
export async function createContainer(req: CreateRequest): Promise<Created & { lock: Lock }> {
  // run creates and starts: a network with no room is refused before the container exists
  await checkNetworkRoom(new NetworkStore(req.roots), parseNetworkFlags(req.flags));
  // Without onRecorded (which may change the record) the creation's lock is kept on to the start:
  // nothing changes the record meanwhile, so the start need not lock again nor re-read it.
  const hold = !req.onRecorded;
  const { containers, record: recorded, known, lock: held } = await createRecord(req, { holdLock: hold });
  let lock: Lock | undefined = held;
  // From here on, objects exist: unwind them on every failure.
  try {
    const record = req.onRecorded ? await req.onRecorded(containers, recorded) : recorded;
    lock ??= await lockContainer(req.roots, record.id);
    mark('container locked');
    return { ...prepareStart(req.roots, containers, record, known), lock, recordCurrent: held !== undefined };
  } catch (err) {
    lock?.release();
    if (req.keepStoreLock) req.storeLock?.release();
    throw err;
  }
}

/**
 * Everything a start of an existing record needs: its files (kept across restarts, like its
 * writable layer), a fresh cgroup and the helper spec. On failure the cgroup is released (and,
 * with --rm, the record).
 */
/** The host ports the root's running containers (other than `self`) publish. */
function portsOfOthersRunning(containers: ContainerStore, self?: ContainerRecord): PublishedPort[] {
  const running = containers.list().filter((c) => c.state.status === 'running' && c.id !== self?.id);
  return running.flatMap((c) => c.config.ports ?? []);
}

export function prepareStart(
  roots: Roots,
  containers: ContainerStore,
  record: ContainerRecord,
  known?: {
    lowerDirs: string[];
    cgroupHost: CgroupHost;
    security: ReturnType<typeof processSecurity>;
    helperPath: string;
  },
): Created {
  // a start of an existing container: its host ports were free at create, maybe not any more
  if (!known) checkHostPortsStillFree(roots, record.config.ports ?? [], portsOfOthersRunning(containers, record));
  const cgroupHost = known?.cgroupHost ?? detectCgroups();
  const cgroup = containerCgroup(cgroupHost, record.id);
  try {
    let lowerDirs = known?.lowerDirs;
    if (!lowerDirs) {
      const images = new ImageStore(roots);
      try {
        lowerDirs = images.overlayLowerDirsFor(record.config.layers);
      } catch (err) {
        throw new BoxError(
          `the image of container ${record.name} is gone (${(err as Error).message}): remove the container`,
        );
      }
    }
    // the mount points the image lacks come from the shared layer below it, not made per start
    lowerDirs = [...lowerDirs, mountBase(roots)];
    mark('mount base checked');
    const security = known?.security ?? processSecurity(record.config);
    const helperPath = known?.helperPath ?? assetPath('box-helper', layout.cache(roots));
    const dir = containers.dir(record.id);
    // What is written and mounted must be the container's own directories, not links planted in
    // the store: checked (and made) beneath the root with no symlink on the way, before any write.
    plainDirBeneath(roots.root, dir, 0o700);
    // upper is the root directory of the container's file system: 0755, or its non-root users
    // could not traverse `/`. work is never seen from inside.
    for (const [d, mode] of [
      ['upper', 0o755],
      ['work', 0o700],
    ] as const) {
      plainDirBeneath(roots.root, path.join(dir, d), mode);
    }
    const files: EtcFiles = {
      hostname: path.join(dir, 'hostname'),
      hosts: path.join(dir, 'hosts'),
      resolvConf: path.join(dir, 'resolv.conf'),
    };
    writeEtcFiles(files, record.config);
    mark('container files written');
    cgroup.create(record.config.limits, record.config.privileged);
    mark('cgroup created');
    // (a shared tmpfs volume is mounted on the host here: release() lets go of it)
    const mounts = holdSharedTmpfs(roots, record.id, mountSources(roots, record.config.mounts ?? []));
    // The overlay is mounted in the helper's own mount namespace (never the host's) on overlay's
    // work directory, which exists anyway: a directory of its own would be one more inode per
    // container. The overlay holds its layers and work dir by reference, whatever covers their paths.
    const rootfsDir = path.join(dir, 'work');
    const spec = buildSpec({
      config: record.config,
      lowerDirs,
      upperDir: path.join(dir, 'upper'),
      workDir: path.join(dir, 'work'),
      rootfsDir,
      etcFiles: files,
      mounts,
      rootfsParentMount: needsHostPropagation(mounts) ? mountPointOf(fs.realpathSync(rootfsDir)) : undefined,
      cgroup: cgroup.initCgroup(),
      security,
    });
    // Loaded only for a container with networks: netlink and nftables cost a start nothing otherwise.
    const onInitReady = record.config.networks?.length
      ? (pid: number) => networkSetup().attachNetworks(roots, record, files, pid)
      : undefined;
    return { containers, record, cgroup, spec, helperPath, onInitReady };
  } catch (err) {
    release({ containers, record, cgroup });
    throw err;
  }
}

/** The hook runHelper calls on the waiting init: the container's own (its networks), then the caller's. */
export function initHook(c: Created, extra?: CreateRequest['onInitReady']): CreateRequest['onInitReady'] {
  const own = c.onInitReady;
  if (!own || !extra) return own ?? extra;
  return async (pid) => {
    await own(pid);
    await extra(pid);
  };
}

/** Releases what a container held: its cgroup always, its files and name with --rm. */
export function release(c: Pick<Created, 'containers' | 'record' | 'cgroup'>): void {
  try {
    c.cgroup.remove();
    const running = (id: string) => c.containers.isRunning(id);
    releaseSharedTmpfs(c.containers.roots, c.record.id, c.record.config.mounts, running);
  } finally {
    if (c.record.autoRemove) {
      c.containers.remove(c.record);
      appendEvent(c.containers.roots, 'destroy', c.record);
    }
  }
}

export function describeBytes(bytes: number | undefined): string {
  if (bytes === undefined) return 'none';
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

export function describeStartError(error: { stage: string; errno: number; text: string }, command: string): string {
  if (error.stage === 'exec' && error.errno === 2) return `${command}: executable file not found in $PATH`;
  if (error.stage === 'exec' && error.errno === 13) return `${command}: permission denied: the file is not executable`;
  if (error.stage === 'spec' && error.text.startsWith('unsupported version')) {
    const why = `box-helper does not speak box's helper protocol (version ${SPEC_VERSION}): ${error.text}`;
    return `${why}; box and its helper must come from the same build`;
  }
  const name = Object.entries(osConstants.errno).find(([, n]) => n === error.errno)?.[0];
  return `cannot start the container (${error.stage}): ${error.text}${name ? ` (${name})` : ''}`;
}
