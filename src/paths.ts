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
  repositories: (r: Roots) => path.join(r.root, 'repositories'),
  containers: (r: Roots) => path.join(r.root, 'containers'),
  names: (r: Roots) => path.join(r.root, 'names'),
  tmp: (r: Roots) => path.join(r.root, 'tmp'),
  // Under the storage root, not /run: many distributions mount /run noexec, and the helper and
  // koffi's native module are executed / mapped from here.
  cache: (r: Roots) => path.join(r.root, 'cache'),
  runContainers: (r: Roots) => path.join(r.runroot, 'containers'),
  // A container's own paths are built only from an id checked here, never from a raw record field.
  container: (r: Roots, id: string) => path.join(r.root, 'containers', checkedContainerId(id)),
  runContainer: (r: Roots, id: string) => path.join(r.runroot, 'containers', checkedContainerId(id)),
  containerLocks: (r: Roots) => path.join(r.runroot, 'locks', 'containers'),
  containerLock: (r: Roots, id: string) =>
    path.join(r.runroot, 'locks', 'containers', `${checkedContainerId(id)}.lock`),
};

/** A container id: 64 lowercase hex digits, as box makes them. */
export const CONTAINER_ID_RE = /^[0-9a-f]{64}$/;

/** `id` if it is a container id; anything else (`..`, a slash, a prefix) is refused before it can name a path. */
export function checkedContainerId(id: string): string {
  if (!CONTAINER_ID_RE.test(id)) {
    throw new BoxError(`invalid container id "${id.slice(0, 80)}": a container id is 64 hex digits`);
  }
  return id;
}
