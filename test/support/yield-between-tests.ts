// Most integration tests are synchronous (spawnSync of box). vitest's worker reports progress to
// its main process by RPC calls that time out after 60 s, and it reads the answer only when its
// event loop gets to poll for input. Back-to-back synchronous tests never let it, so a file whose
// synchronous tests together outlast 60 s (system-check under load) ends in "Timeout calling
// onTaskUpdate". After each test, the loop is let through a timers phase and a poll phase.
import { afterEach } from 'vitest';

afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
});
