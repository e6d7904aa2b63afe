// A project's named volumes as box volumes: `<project>_<key>` (or the declared name), made by `up`
// when missing and labelled with the project, so `down -v` removes exactly the project's own;
// external volumes must exist.
import { BoxError } from '../errors';
import type { Roots } from '../paths';
import { createVolume, removeVolumes } from '../volume/manage';
import { VolumeStore } from '../volume/store';
import type { Project } from './model';
import { LABEL } from './service-flags';

/** The label that says which key of the project's `volumes:` a volume is. */
export const VOLUME_LABEL = 'com.docker.compose.volume';

/** Makes the named volumes the services mount; returns the names of those it made. */
export async function ensureVolumes(
  roots: Roots,
  project: Project,
  services: string[],
  progress: (line: string) => void,
): Promise<string[]> {
  const keys = new Set(
    services.flatMap((s) =>
      (project.services[s].volumes ?? []).flatMap((v) => (v.type === 'volume' && v.source ? [v.source] : [])),
    ),
  );
  const store = new VolumeStore(roots);
  const made: string[] = [];
  for (const key of keys) {
    const spec = project.volumes[key];
    if (store.get(spec.name)) continue;
    if (spec.external)
      throw new BoxError(
        `volume ${spec.name} is declared as external but does not exist: create it with box volume create ${spec.name}`,
      );
    if (spec.driver !== undefined && spec.driver !== 'local')
      throw new BoxError(`volume "${key}": driver "${spec.driver}" is not supported by box (local only): remove it`);
    await createVolume(roots, spec.name, {
      labels: { ...spec.labels, [LABEL.project]: project.name, [VOLUME_LABEL]: key },
      options: spec.driver_opts,
    });
    made.push(spec.name);
    progress(`Volume ${spec.name}  Created`);
  }
  return made;
}

/** Removes the project's own named volumes (by label; `only`: just these). */
export async function removeProjectVolumes(
  roots: Roots,
  project: string,
  progress: (line: string) => void,
  only?: string[],
): Promise<void> {
  const names = new VolumeStore(roots)
    .list()
    .filter((v) => v.labels[LABEL.project] === project && (!only || only.includes(v.name)))
    .map((v) => v.name);
  const { removed, failures } = await removeVolumes(roots, names, false);
  for (const n of removed) progress(`Volume ${n}  Removed`);
  if (failures.length) throw new BoxError(failures.join('\nbox: '));
}
