// The policy audit log: one JSON line per decision a policy made about a start, in every mode,
// appended by the box command that asked (one write(2) of a whole line with O_APPEND, so
// concurrent starts never interleave). It lives under the storage root: unlike events, an audit
// trail must survive a reboot. `box policy log` reads it. It is kept under AUDIT_MAX_BYTES: the
// append that would pass it first renames the file to policy-audit.jsonl.1 (replacing the older
// one), so the log and its predecessor hold at most twice that. The rotation is done under a lock
// of its own (starts append without any), so that two appends at the threshold rotate once and
// the second cannot rename the first's fresh log over the full one. Each entry is bounded too (the
// engine caps reasons, warnings and patches).
import * as fs from 'node:fs';
import { lockFileBlocking } from '../image/locks';
import { featurePaths, lockPaths, Roots } from '../paths';
import { errnoCode } from '../errors';
import { openToAppend, readNoFollow } from '../util/safe-open';
import type { PolicyMode } from './sources';
import type { Decision, PolicyPatch } from './types';

export interface AuditEntry {
  time: string;
  /** set for `box update` and `box network connect` (a start is the default) */
  action?: 'update' | 'connect';
  container: { id: string; name: string };
  /** the normalised reference policies saw, and the manifest digest when known */
  image: { reference: string; id: string; digest?: string };
  policy: { name: string; source: string; sha256: string };
  mode: PolicyMode;
  decision: Decision;
  /** what box did with it: the start went ahead, was refused, or the policy failed and was ignored */
  outcome: 'admitted' | 'denied' | 'warned' | 'recorded' | 'failure-ignored';
  reasons: string[];
  warnings: string[];
  patch?: PolicyPatch;
  /** the changes box made from the patch (enforce mode only) */
  applied: string[];
  failure?: { kind: string; message: string };
  /** evaluation, including instantiation when this process had to instantiate */
  durationMs: number;
  /** the evaluation alone, a retry on a busy host included: what --policy-timeout bounds (at most 3 times it) */
  evaluateMs?: number;
  /** set when this start transpiled the policy (its first use with this box version): how long that took */
  transpileMs?: number;
}

/** The size at which the audit log is rotated. */
export const AUDIT_MAX_BYTES = 16 * 1024 * 1024;

export function auditFile(roots: Roots): string {
  return featurePaths.policyAudit(roots);
}

/** The previous audit log, kept after a rotation. */
export function rotatedAuditFile(roots: Roots): string {
  return featurePaths.policyAuditRotated(roots);
}

/** Moves the log aside when `adding` more bytes would take it past AUDIT_MAX_BYTES. */
function rotateIfFull(roots: Roots, adding: number, maxBytes: number): void {
  const lock = lockFileBlocking(lockPaths.policyAudit(roots)); // held over a stat and a rename
  try {
    if (isFull(roots, adding, maxBytes)) fs.renameSync(auditFile(roots), rotatedAuditFile(roots));
  } finally {
    lock.release();
  }
}

function isFull(roots: Roots, adding: number, maxBytes: number): boolean {
  let size: number;
  try {
    size = fs.lstatSync(auditFile(roots)).size; // a link is not followed (openToAppend refuses it)
  } catch {
    return false; // no log yet
  }
  return wouldPass(size, adding, maxBytes);
}

const wouldPass = (size: number, adding: number, maxBytes: number): boolean => size > 0 && size + adding > maxBytes;

const bigintsAsNumbers = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

/**
 * An entry's line. Only a patch's limits hold bigints: an entry without them is written without
 * a replacer, which JSON.stringify would call for every key and value.
 */
const auditLine = (e: AuditEntry): string => JSON.stringify(e, e.patch?.limits ? bigintsAsNumbers : undefined) + '\n';

/**
 * Appends the entries in one write. The log's size is read from the descriptor the write goes to:
 * only when it is full is the log rotated (under the lock, its size read again) and opened anew.
 */
export function appendAudit(roots: Roots, entries: AuditEntry[], maxBytes = AUDIT_MAX_BYTES): void {
  if (!entries.length) return;
  const text = entries.map(auditLine).join('');
  const adding = Buffer.byteLength(text);
  let fd = openToAppend(auditFile(roots), 0o700);
  try {
    if (wouldPass(fs.fstatSync(fd).size, adding, maxBytes)) {
      fs.closeSync(fd);
      fd = -1;
      rotateIfFull(roots, adding, maxBytes);
      fd = openToAppend(auditFile(roots), 0o700);
    }
    fs.writeSync(fd, text);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** The entries of the previous (rotated) log and of the current one, oldest first. */
export function readAudit(roots: Roots): AuditEntry[] {
  return [...readAuditFile(rotatedAuditFile(roots)), ...readAuditFile(auditFile(roots))];
}

function readAuditFile(file: string): AuditEntry[] {
  let text: string;
  try {
    text = readNoFollow(file).toString('utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as AuditEntry);
    } catch {
      /* a line cut by a crash: skip it */
    }
  }
  return out;
}
