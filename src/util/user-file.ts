// Reading a file a user names (a seccomp profile, an env file, a policy, a request, a cases file):
// only a regular file (or standard input for "-", where allowed), at most a stated number of
// bytes, read with that bound. /dev/zero, a FIFO without a writer or a huge file then give a
// one-line error instead of reading without end or exhausting memory.
import * as fs from 'node:fs';
import { BoxError, errnoCode } from '../errors';

export interface UserFileOptions {
  /** What the file is, for messages: "seccomp profile", "--env-file". */
  what: string;
  /** The most bytes the file may have. */
  maxBytes: number;
  /** What to do instead, ending the message: "give the path of a Docker-format JSON profile". */
  hint: string;
  /** "-" means standard input (read with the same bound). */
  stdin?: boolean;
}

/** 1048576 -> "1 MiB"; sizes that are not whole MiB in bytes. */
function formatLimit(bytes: number): string {
  return bytes % 1048576 === 0 ? `${bytes / 1048576} MiB` : `${bytes} bytes`;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'an unusual file';
}

function openProblem(err: unknown): string {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return (err as Error).message;
  }
}

/** Reads at most maxBytes + 1 bytes from fd: one more than allowed tells that the file is too large. */
function readBounded(fd: number, maxBytes: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1 - total, 1 << 16));
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return Buffer.concat(parts, total);
    parts.push(buf.subarray(0, n));
    total += n;
    if (total > maxBytes) return undefined;
  }
}

/** The bytes of a user's file, or a BoxError: `cannot read WHAT "FILE" (PROBLEM): HINT`. */
export function readUserFile(file: string, o: UserFileOptions): Buffer {
  return read(file, o, false)!;
}

/** readUserFile, or undefined when there is no such file (a missing optional file). */
export function readUserFileIfExists(file: string, o: UserFileOptions): Buffer | undefined {
  return read(file, o, true);
}

function read(file: string, o: UserFileOptions, missingOk: boolean): Buffer | undefined {
  const fail = (problem: string) => new BoxError(`cannot read ${o.what} "${file}" (${problem}): ${o.hint}`);
  const tooLarge = () => fail(`larger than ${formatLimit(o.maxBytes)}`);
  if (o.stdin && file === '-') {
    let bytes: Buffer | undefined;
    try {
      bytes = readBounded(0, o.maxBytes);
    } catch (err) {
      throw fail(openProblem(err));
    }
    if (!bytes) throw tooLarge();
    return bytes;
  }
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO nobody writes to returns at once (and is refused below).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (err) {
    if (missingOk && errnoCode(err) === 'ENOENT') return undefined;
    throw fail(openProblem(err));
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail(`${kindOf(st)}, not a regular file`);
    if (st.size > o.maxBytes) throw tooLarge();
    let bytes: Buffer | undefined;
    try {
      bytes = readBounded(fd, o.maxBytes); // bounded again: the file may grow while it is read
    } catch (err) {
      throw fail(openProblem(err));
    }
    if (!bytes) throw tooLarge();
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** readUserFile as UTF-8 text. */
export function readUserText(file: string, o: UserFileOptions): string {
  return readUserFile(file, o).toString('utf8');
}
