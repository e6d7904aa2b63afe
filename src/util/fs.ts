// Atomic file writes and small JSON helpers used by every store: a reader never sees a
// half-written file because content is written to a unique temp name and renamed into place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors';
import { ownedName } from './owner';
import { randomHex } from './random';

/**
 * `.tmp-<name>-<pid>.<start>-<random>` beside `file`: the writer's token (src/util/owner.ts) lets
 * the store's sweeper tell a dead writer's leftover from a live writer's work.
 */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), ownedName(`.tmp-${path.basename(file)}`, randomHex(6)));
}

/**
 * Writes via a temp file and rename. `durable` also fsyncs before the rename: used for the image
 * store; per-container files skip it (they describe processes that a host crash ends anyway, and
 * an fsync per file is milliseconds on every container start).
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644, durable = true): void {
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(file: string, value: unknown, mode = 0o644, durable = true): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', mode, durable);
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readJsonIfExists<T>(file: string): T | undefined {
  try {
    return readJson<T>(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

export function mkdirp(dir: string, mode = 0o755): void {
  fs.mkdirSync(dir, { recursive: true, mode });
}
