// Writing to stderr without process.stderr: creating that stream on first use loads Node's
// net/tty and stream code, a few milliseconds that a warning printed on the way to starting a
// container need not cost.
import * as fs from 'node:fs';
import { errnoCode } from '../errors';

/** Writes all of `text` to fd 2, synchronously (in order with process.stderr, which is synchronous for files, TTYs and pipes on Linux). */
export function writeStderr(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(2, buf, off);
    } catch (err) {
      if (errnoCode(err) === 'EAGAIN') continue; // a non-blocking pipe that is full: the reader drains it
      return; // stderr closed or gone: nothing to tell the user with
    }
  }
}
