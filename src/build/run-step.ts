// RUN: a build step runs in a box container like any other (box's isolation, the admission
// policies, the build's network unless the step asks for another, RUN --mount's mounts), started from the stage's state so far (its
// config stored as an image config blob, which the store resolves by id). The step's layer is
// what the container changed, read from its overlay upper directory (no scan of the image), then
// the container is removed.
import { randomBytes } from 'node:crypto';
import { BoxError } from '../errors';
import { ImageConfig } from '../image/config';
import { ImageStore } from '../image/store';
import type { ContainerRecord } from '../model';
import { Roots } from '../paths';
import { ContainerStore } from '../runtime/containers';
import { upperDir } from '../runtime/diff';
import { appendEvent } from '../runtime/events';
import { runForeground } from '../runtime/run';
import { runFlagsFrom } from '../runtime/run-flags';
import type { OutputOption } from '../runtime/helper';
import { ownerAlive, ownerToken } from '../util/owner';
import type { MountRequest } from '../volume/mount-flags';
import { storeContainerChanges } from './layer-tar';

/** The label a build step's container carries, so that policies can tell build steps apart. */
export const BUILD_STEP_LABEL = 'box.build.step';
/** The build process's token (util/owner.ts): a step container whose build died is removed later. */
const BUILD_OWNER_LABEL = 'box.build.owner';

/**
 * Removes the stopped step containers of builds that died (killed before they removed them).
 * A running one is left alone: box stops it once it sees its owner gone, and a later build
 * removes it then.
 */
export function removeDeadSteps(roots: Roots): void {
  const containers = new ContainerStore(roots);
  for (const record of deadSteps(containers.list())) {
    containers.remove(record);
    appendEvent(roots, 'destroy', record);
  }
}

/** The stopped step containers among `records` whose build is gone. */
export function deadSteps(records: ContainerRecord[]): ContainerRecord[] {
  return records.filter((record) => {
    const owner = record.config.labels?.[BUILD_OWNER_LABEL];
    return owner !== undefined && !ownerAlive(owner) && record.state.status !== 'running';
  });
}

export interface RunStep {
  roots: Roots;
  store: ImageStore;
  /** the stage's state: the step's image */
  config: ImageConfig;
  argv: string[];
  /** the build args in scope, as environment variables of the step only */
  env: string[];
  network?: string;
  /** RUN --mount's mounts (src/build/run-mounts.ts) */
  mounts: MountRequest[];
  /**
   * Paths that are not the step's changes when they are new and hold nothing else: the mounts'
   * targets and the directories made for them
   */
  mountPoints: string[];
  /** where the step's output goes */
  output: OutputOption;
  /** "Dockerfile:7" */
  where: string;
  warn: (msg: string) => void;
}

/** Runs the step; returns the diff_id of its layer. */
export async function runStep(step: RunStep): Promise<string> {
  const imageId = step.store.putConfig(step.config);
  const name = `box-build-${randomBytes(6).toString('hex')}`;
  const flags = runFlagsFrom({
    name,
    entrypoint: '',
    // box's init as PID 1: the step's command gets signals as it would anywhere else, so an
    // interrupted build (Ctrl-C, a SIGTERM) stops its step instead of waiting for it to end
    init: true,
    env: step.env,
    label: [`${BUILD_STEP_LABEL}=${step.where}`, `${BUILD_OWNER_LABEL}=${ownerToken()}`],
    network: step.network,
  });
  const containers = new ContainerStore(step.roots);
  try {
    const exitCode = await runForeground({
      roots: step.roots,
      image: imageId,
      command: step.argv,
      flags,
      warn: step.warn,
      output: step.output,
      buildMounts: step.mounts,
    });
    if (exitCode !== 0) {
      const cmd = JSON.stringify(step.argv);
      throw new BoxError(`${step.where}: RUN ${cmd} failed with exit code ${exitCode}: fix the command`, 1);
    }
    const record = containers.find(name);
    if (!record) throw new BoxError(`${step.where}: the step's container ${name} disappeared`);
    const upper = upperDir(containers, record);
    const lowerDirs = step.store.lowerDirs(step.config);
    // the container has exited and is removed below, its upper directory with it: its files
    // become the layer's by a link, so a step's new files are written once
    return await storeContainerChanges(step.store, upper, lowerDirs, step.mountPoints, `${step.where}: RUN`, true);
  } finally {
    const record = containers.find(name);
    if (record) {
      containers.remove(record);
      appendEvent(step.roots, 'destroy', record);
    }
  }
}
