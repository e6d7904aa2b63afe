// Writing to stderr and stdout without process.stderr and process.stdout: creating those streams
// on first use loads Node's net/tty and stream code (~1.9 ms of CPU for both on pipes), which a
// warning printed on the way to starting a container, or the id a detached start prints, need
// not cost.
import * as fs from 'node:fs';
import { errnoCode } from '../errors';

/** Writes all of `text` to fd, synchronously, until the fd is closed or its reader gone. */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (err) {
      if (errnoCode(err) === 'EAGAIN') continue; // a non-blocking pipe that is full: the reader drains it
      return;
    }
  }
}

/** Writes all of `text` to fd 2, synchronously (in order with process.stderr, which is synchronous for files, TTYs and pipes on Linux). */
export function writeStderr(text: string): void {
  writeAll(2, text); // stderr closed or gone: nothing to tell the user with
}

/**
 * Writes all of `text` to fd 1, synchronously, as writeStderr. A reader gone changes nothing: the
 * status still says how the command went (as with process.stdout for a detached start's id, whose
 * EPIPE came after box's exit).
 */
export function writeStdout(text: string): void {
  writeAll(1, text);
}
