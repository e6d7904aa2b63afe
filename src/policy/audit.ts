// The policy audit log: one JSON line per decision a policy made about a start, in every mode,
// appended by the box command that asked (one write(2) of a whole line with O_APPEND, so
// concurrent starts never interleave). It lives under the storage root: unlike events, an audit
// trail must survive a reboot. `box policy log` reads it.
import * as fs from 'node:fs';
import { featurePaths, Roots } from '../paths';
import type { PolicyMode } from './sources';
import type { Decision, PolicyPatch } from './types';

export interface AuditEntry {
  time: string;
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
  /** set when this start transpiled the policy (its first use with this box version): how long that took */
  transpileMs?: number;
}

export function auditFile(roots: Roots): string {
  return featurePaths.policyAudit(roots);
}

const bigintsAsNumbers = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

export function appendAudit(roots: Roots, entries: AuditEntry[]): void {
  if (!entries.length) return;
  fs.mkdirSync(roots.root, { recursive: true, mode: 0o711 });
  const text = entries.map((e) => JSON.stringify(e, bigintsAsNumbers) + '\n').join('');
  fs.appendFileSync(auditFile(roots), text, { mode: 0o600 });
}

export function readAudit(roots: Roots): AuditEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(auditFile(roots), 'utf8');
  } catch {
    return [];
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
