// Where box keeps its state. Persistent state lives under the storage root (images, container
// records and their writable layers); runtime state that must not survive a reboot (locks,
// extracted helper binaries, runtime status) lives under the runtime root.
import * as path from 'node:path';
import { BoxError } from './errors';

export interface Roots {
  /** persistent storage: /var/lib/box, --root, BOX_ROOT */
  root: string;
  /** runtime state: /run/box, --runroot, BOX_RUNROOT; defaults to <root>/run when only the root is overridden */
  runroot: string;
}

export function resolveRoots(flags: { root?: string; runroot?: string }, env: NodeJS.ProcessEnv = process.env): Roots {
  const root = path.resolve(flags.root ?? env.BOX_ROOT ?? '/var/lib/box');
  const explicitRun = flags.runroot ?? env.BOX_RUNROOT;
  const rootOverridden = flags.root !== undefined || env.BOX_ROOT !== undefined;
  // A test that points --root at a temporary directory must not share /run/box with the user.
  const runroot = path.resolve(explicitRun ?? (rootOverridden ? path.join(root, 'run') : '/run/box'));
  return { root, runroot };
}

export const layout = {
  blobs: (r: Roots) => path.join(r.root, 'blobs', 'sha256'),
  layers: (r: Roots) => path.join(r.root, 'layers'),
  /** short symlinks to layers' diff dirs, for overlay's lowerdir= */
  links: (r: Roots) => path.join(r.root, 'l'),
  images: (r: Roots) => path.join(r.root, 'images'),
  repositories: (r: Roots) => path.join(r.root, 'repositories'),
  containers: (r: Roots) => path.join(r.root, 'containers'),
  names: (r: Roots) => path.join(r.root, 'names'),
  tmp: (r: Roots) => path.join(r.root, 'tmp'),
  // Under the storage root, not /run: many distributions mount /run noexec, and the helper and
  // koffi's native module are executed / mapped from here.
  cache: (r: Roots) => path.join(r.root, 'cache'),
  /** the mount points every container gets, a shared lowest overlay layer (src/runtime/mount-base.ts) */
  mountBase: (r: Roots) => path.join(r.root, 'cache', 'mount-base-1'),
  runContainers: (r: Roots) => path.join(r.runroot, 'containers'),
  // A container's own paths are built only from an id checked here, never from a raw record field.
  container: (r: Roots, id: string) => path.join(r.root, 'containers', checkedContainerId(id)),
  /** where a creation writes the container's directory before renaming it into place */
  containerStaging: (r: Roots, id: string) => path.join(r.root, 'containers', `.new-${checkedContainerId(id)}`),
  /** where a removal renames the container's directory to before deleting it */
  containerTrash: (r: Roots, id: string) => path.join(r.root, 'containers', `.trash-${checkedContainerId(id)}`),
  runContainer: (r: Roots, id: string) => path.join(r.runroot, 'containers', checkedContainerId(id)),
  locks: (r: Roots) => path.join(r.runroot, 'locks'),
  /** `box build`'s cache: one small record per step key (src/build/cache.ts) */
  buildCache: (r: Roots) => path.join(r.root, 'build-cache'),
  /** named and anonymous volumes (src/volume/) */
  volumes: (r: Roots) => path.join(r.root, 'volumes'),
  // A volume's paths are built only from a name checked here, never from a raw record field.
  volume: (r: Roots, name: string) => path.join(r.root, 'volumes', checkedVolumeName(name)),
  /** the containers holding a shared tmpfs volume mounted, one file each (src/volume/shared-tmpfs.ts) */
  tmpfsHolders: (r: Roots) => path.join(r.runroot, 'volume-mounts'),
  tmpfsHoldersOf: (r: Roots, name: string) => path.join(r.runroot, 'volume-mounts', checkedVolumeName(name)),
  /** a directory per network (src/network/store.ts): its record and its address allocations */
  networks: (r: Roots) => path.join(r.root, 'networks'),
  network: (r: Roots, id: string) => path.join(r.root, 'networks', checkedNetworkId(id)),
  runNetworks: (r: Roots) => path.join(r.runroot, 'networks'),
  /** runtime files of a network (the DNS responder's names table and pid) */
  runNetwork: (r: Roots, id: string) => path.join(r.runroot, 'networks', checkedNetworkId(id)),
};

/** Lock files (flock), all under layout.locks. */
export const lockPaths = {
  /** the image store's: held shared by what adds to the store, exclusively by garbage collection */
  store: (r: Roots) => path.join(layout.locks(r), 'store.lock'),
  /** starts are admitted one at a time per host */
  admission: (r: Roots) => path.join(layout.locks(r), 'admission.lock'),
  /** taken to rotate the policy audit log (src/policy/audit.ts), which appends need no lock for */
  policyAudit: (r: Roots) => path.join(layout.locks(r), 'policy-audit.lock'),
  /** taken by a command that reclaims a container name whose creation died */
  names: (r: Roots) => path.join(layout.locks(r), 'names.lock'),
  containers: (r: Roots) => path.join(layout.locks(r), 'containers'),
  /**
   * A container's lock file as older boxes made one for every container; a container's lock is now
   * its directory (runtime/container-lock.ts), and this file only that of an entry that is no directory.
   */
  containerFile: (r: Roots, id: string) => path.join(layout.locks(r), 'containers', `${checkedContainerId(id)}.lock`),
  /** key: a layer's diff_id (its sha256: prefix dropped) or another key of layer work */
  layer: (r: Roots, key: string) => path.join(layout.locks(r), 'layers', `${key.replace(/^sha256:/, '')}.lock`),
  image: (r: Roots, hex: string) => path.join(layout.locks(r), 'images', `${hex}.lock`),
  /** a shared tmpfs volume's: held while it is mounted or unmounted and its holders change */
  tmpfsVolume: (r: Roots, name: string) =>
    path.join(layout.locks(r), 'volume-mounts', `${checkedVolumeName(name)}.lock`),
  /** a compose project's: held by what changes its containers (up, down, ...) */
  composeProject: (r: Roots, project: string) => path.join(layout.locks(r), 'compose', `${project}.lock`),
  /** taken to create or remove a network (names stay unique, `rm` sees every user) */
  networks: (r: Roots) => path.join(layout.locks(r), 'networks.lock'),
  /** held while the root's nftables table is rebuilt from the networks in use (src/network/setup.ts) */
  ruleset: (r: Roots) => path.join(layout.locks(r), 'nftables.lock'),
  /** a network's address allocations (src/network/ipam.ts) */
  network: (r: Roots, id: string) => path.join(layout.locks(r), 'networks', `${checkedNetworkId(id)}.lock`),
  /** a network's DNS names and responder: held to change the names file or start/stop the responder */
  networkDns: (r: Roots, id: string) => path.join(layout.locks(r), 'networks', `${checkedNetworkId(id)}.dns.lock`),
};

/** Files and directories that belong to one feature each. */
export const featurePaths = {
  /** the event log `box events` reads */
  events: (r: Roots) => path.join(r.runroot, 'events.jsonl'),
  /** every policy decision, one JSON line each */
  policyAudit: (r: Roots) => path.join(r.root, 'policy-audit.jsonl'),
  /** the previous audit log, kept when the log is rotated */
  policyAuditRotated: (r: Roots) => path.join(r.root, 'policy-audit.jsonl.1'),
  /** the storage root's default policies (besides /etc/box/policies.d) */
  policies: (r: Roots) => path.join(r.root, 'policies.d'),
  /** transpiled policy components, by digest and box version */
  policyCache: (r: Roots) => path.join(layout.cache(r), 'policies'),
  /** a marker per holder of the store's lock (src/image/store-lock.ts), and "swept" */
  storeOperations: (r: Roots) => path.join(r.runroot, 'store-ops'),
  /** a network's names for its DNS responder (src/network/dns/names.ts), replaced atomically */
  dnsNames: (r: Roots, networkId: string) => path.join(layout.runNetwork(r, networkId), 'names.json'),
  /** the pid and start time of a network's DNS responder */
  dnsPid: (r: Roots, networkId: string) => path.join(layout.runNetwork(r, networkId), 'dns.pid'),
  /** the responder's own output (errors only), removed when it ends cleanly */
  dnsLog: (r: Roots, networkId: string) => path.join(layout.runNetwork(r, networkId), 'dns.log'),
};

/** A network id is made like a container id: 64 lowercase hex digits. */
export function checkedNetworkId(id: string): string {
  if (!CONTAINER_ID_RE.test(id)) {
    throw new BoxError(`invalid network id "${id.slice(0, 80)}": a network id is 64 hex digits`);
  }
  return id;
}

/** A container id: 64 lowercase hex digits, as box makes them. */
export const CONTAINER_ID_RE = /^[0-9a-f]{64}$/;

/** `id` if it is a container id; anything else (`..`, a slash, a prefix) is refused before it can name a path. */
export function checkedContainerId(id: string): string {
  if (!CONTAINER_ID_RE.test(id)) {
    throw new BoxError(`invalid container id "${id.slice(0, 80)}": a container id is 64 hex digits`);
  }
  return id;
}

/** Docker's rule for a local volume's name (an anonymous volume's is 64 hex digits). */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `name` if it is a volume name; anything else (`..`, a slash) is refused before it can name a path. */
export function checkedVolumeName(name: string): string {
  if (!VOLUME_NAME_RE.test(name)) {
    throw new BoxError(
      `"${name.slice(0, 80)}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" ` +
        'are allowed. If you intended to pass a host directory, use absolute path',
    );
  }
  return name;
}
