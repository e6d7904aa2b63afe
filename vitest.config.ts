// Two projects, unit tests first (groupOrder), then integration tests (root, real containers, the
// built binary). `npm test` builds first (node build/build.mjs), so integration tests find dist/
// ready; they never build anything themselves.
//
// Files run one at a time, each in its own forked process (fileParallelism: false). Integration
// files share the kernel's namespaces, mounts, cgroups and the machine's 2 cores and must not race;
// a fork per file (rather than vitest's per-project `singleFork`, which runs every file in one
// process) keeps a file that changed its process state (threads moved into namespaces, cwd, env,
// children) from affecting the next one. vitest cannot limit parallelism per project, and with 2
// cores its default is one worker anyway, so the unit tests lose nothing here.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 15_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/support/yield-between-tests.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
