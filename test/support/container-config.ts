// A complete container configuration, as `box create` of a plain image would record it, for unit
// tests of the container store (a record read back must pass its checks).
import { runFlagsFrom } from '../../src/runtime/run-flags';
import { resolveContainerConfig } from '../../src/runtime/run-options';
import type { ContainerConfig } from '../../src/model';

export function plainContainerConfig(): ContainerConfig {
  return resolveContainerConfig(
    runFlagsFrom({}),
    {
      ref: 'img',
      id: `sha256:${'c'.repeat(64)}`,
      lowerDirs: [],
      config: {
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [`sha256:${'d'.repeat(64)}`] },
      },
    },
    [],
    'a'.repeat(64),
  );
}
