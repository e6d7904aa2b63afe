// The sha256 of some bytes, in hex. Its own module: the policy engine's start with a built-in
// needs no hash and loads neither this nor the transpile cache's module it came from.

/**
 * node:crypto is loaded here, on first use: a built-in policy is never hashed at a start (its
 * digest is known), and loading it cost ~2 ms of CPU (measured 2026-12-05 on the 2-core dev VM).
 */
export function sha256Hex(bytes: Uint8Array | string): string {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}
