// `box commit`: a container's changes (its overlay upper directory against its image) become a
// new layer on top of its image, with the container's own config (env, command, entrypoint,
// working dir, user, labels) and any --change instructions, as `docker commit` makes it. A running
// container is paused (frozen) while its changes are read, unless asked not to.
import { ImageConfig } from '../image/config';
import { parseChanges } from '../image/changes';
import { ImageRef } from '../image/reference';
import { storeLock } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { ContainerRecord } from '../model';
import { Roots } from '../paths';
import { ContainerStore } from '../runtime/containers';
import { imageLayerDirs, upperDir } from '../runtime/diff';
import { isPaused, pauseContainer, unpauseContainer } from '../runtime/freezer';
import { storeContainerChanges } from './layer-tar';
import { isoTime } from '../util/iso-time';

export interface CommitOptions {
  changes: string[];
  message?: string;
  author?: string;
  pause: boolean;
  ref?: ImageRef;
}

export async function commitContainer(
  roots: Roots,
  containers: ContainerStore,
  record: ContainerRecord,
  opts: CommitOptions,
): Promise<string> {
  const change = parseChanges(opts.changes); // bad input first, before anything is frozen or stored
  const store = new ImageStore(roots);
  const lock = await storeLock(roots, 'shared');
  const freeze = opts.pause && record.state.status === 'running' && !isPaused(record);
  try {
    if (freeze) await pauseContainer(roots, containers, record);
    let diffId: string;
    try {
      const mountPoints = (record.config.mounts ?? []).map((m) => m.target);
      const what = `commit ${record.name}`;
      diffId = await storeContainerChanges(
        store,
        upperDir(containers, record),
        imageLayerDirs(roots, record),
        mountPoints,
        what,
      );
    } finally {
      if (freeze) await unpauseContainer(roots, containers, record);
    }
    const base = store.get(record.config.image.id).config;
    const c = record.config;
    const now = isoTime();
    const config: ImageConfig = {
      created: now,
      architecture: base.architecture,
      os: base.os,
      config: {
        ...base.config,
        Env: c.env,
        Cmd: c.cmd,
        Entrypoint: c.entrypoint.length ? c.entrypoint : null,
        WorkingDir: c.workingDir,
        User: c.user.spec,
        Labels: c.labels,
        ...change,
      },
      rootfs: { type: 'layers', diff_ids: [...c.layers, diffId] },
      history: [
        ...(base.history ?? []),
        {
          created: now,
          created_by: c.args.join(' '),
          ...(opts.message ? { comment: opts.message } : {}),
          ...(opts.author ? { author: opts.author } : {}),
        },
      ],
    };
    const id = store.putConfig(config);
    await store.registerImage(id);
    if (opts.ref) store.tag(opts.ref, id);
    return id;
  } finally {
    lock.release();
  }
}
