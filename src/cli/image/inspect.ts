// `box image inspect`: images in detail, as Docker-shaped JSON.
import { BoxError } from '../../errors';
import { ImageStore } from '../../image/store';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { inspectText, INSPECT_FORMAT_FLAG } from '../inspect-output';
import { mustResolve } from './common';

/** Docker's `image inspect` object for one image. */
export function inspectImage(store: ImageStore, id: string): Record<string, unknown> {
  const img = store.get(id);
  const c = img.config;
  const raw = c as unknown as Record<string, unknown>;
  const layers = store.lowerDirs(c); // topmost first
  const graph: Record<string, string> = {};
  if (layers.length) graph.UpperDir = layers[0];
  if (layers.length > 1) graph.LowerDir = layers.slice(1).join(':');
  return {
    Id: img.id,
    RepoTags: img.tags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: c.history?.[c.history.length - 1]?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: (raw.docker_version as string | undefined) ?? '',
    Author: (raw.author as string | undefined) ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(raw.variant ? { Variant: raw.variant } : {}),
    Os: c.os,
    Size: img.size,
    GraphDriver: { Name: 'overlay', Data: graph },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: img.added ?? '' },
  };
}

export const imageInspectCommand: CommandSpec = {
  paths: [['image', 'inspect']],
  summary: 'Show images in detail, as Docker-shaped JSON.',
  flags: [INSPECT_FORMAT_FLAG],
  positionals: [{ name: 'IMAGE', rest: true }],
  async run(a) {
    const store = new ImageStore(roots());
    const found: Record<string, unknown>[] = [];
    let code = 0;
    for (const name of a.positionals) {
      try {
        found.push(inspectImage(store, mustResolve(store, name)));
      } catch (e) {
        if (!(e instanceof BoxError)) throw e;
        process.stderr.write(`box: ${e.message}\n`);
        code = 1;
      }
    }
    process.stdout.write(inspectText(found, str(a, 'format')));
    return code;
  },
};
