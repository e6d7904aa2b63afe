// Random identifiers without loading node:crypto, which costs milliseconds of start-up on the
// container-start path: the kernel's CSPRNG is one read away.
import * as fs from 'node:fs';

export function randomBytesSync(n: number): Buffer {
  const buf = Buffer.alloc(n);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    let off = 0;
    while (off < n) off += fs.readSync(fd, buf, off, n - off, null);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

export function randomHex(bytes: number): string {
  return randomBytesSync(bytes).toString('hex');
}

/** A uniform integer in [0, n) for small n. */
export function randomIndex(n: number): number {
  return randomBytesSync(4).readUInt32LE(0) % n;
}
