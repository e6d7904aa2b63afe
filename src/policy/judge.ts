// What a policy's evaluation does to a start, in each mode: the warnings it prints, the patch it
// applies, the denial it adds. admission.ts decides the one common case itself (an enforced policy
// that allows without a warning or a patch: every start a built-in lets through) and loads this
// module for the rest, with the patch code and the escaping of text it needs: a built-in's allowed
// start then compiles none of it (measured 2026-12-05 on the 2-core dev VM: see admission.ts).
import { BoxError } from '../errors';
import type { CgroupHost } from '../linux/cgroups';
import type { ContainerConfig } from '../model';
import { printable } from '../util/printable';
import type { AuditEntry } from './audit';
import type { Evaluation } from './engine';
import type { FailureMode } from './flags';
import { applyPatch, patchIsEmpty } from './patch';
import type { PolicyMode } from './sources';
import type { PolicyPatch } from './types';

export interface Judged {
  /** the configuration after an enforced patch */
  config: ContainerConfig;
  outcome: AuditEntry['outcome'];
  /** the changes the applied patch made */
  applied: string[];
  failure: AuditEntry['failure'];
}

/** Where judge reports to, and what it adds to (the start's denials and enforced patches). */
export interface JudgeSink {
  /** prints a warning (judge makes the policy's text printable first) */
  warn: (message: string) => void;
  /** a connect applies no patch: it reports the changes as not applied */
  action?: 'create' | 'update' | 'connect';
  denials: string[];
  patches: PolicyPatch[];
}

export function judge(
  sink: JudgeSink,
  policyName: string,
  mode: PolicyMode,
  ev: Evaluation,
  failureMode: FailureMode,
  config: ContainerConfig,
  cgroups: CgroupHost,
): Judged {
  // Reasons, warnings and failures are the policy's text: printed with control characters escaped.
  const warn = (message: string): void => sink.warn(printable(message));
  const { verdict } = ev;
  let failure: AuditEntry['failure'] = ev.failure;
  const label = `policy ${policyName}${mode === 'enforce' ? '' : ` (${mode})`}`;
  let outcome: AuditEntry['outcome'];
  let applied: string[] = [];
  if (failure && failureMode === 'ignore') {
    warn(`${label} failed and --policy-failure=ignore lets the start go ahead: ${failure.message}`);
    outcome = 'failure-ignored';
  } else if (mode === 'audit') {
    outcome = 'recorded';
  } else if (mode === 'warn') {
    for (const r of verdict.reasons) if (verdict.decision === 'deny') warn(`${label} would deny the start: ${r}`);
    for (const w of verdict.warnings) warn(`${label}: ${w}`);
    if (verdict.patch && !patchIsEmpty(verdict.patch)) {
      try {
        const would = applyPatch(config, verdict.patch, policyName, cgroups).changes;
        if (would.length) warn(`${label} would change: ${would.join(', ')}`);
      } catch (err) {
        warn(`${label}: ${(err as Error).message}`);
      }
    }
    outcome = 'warned';
  } else if (failure) {
    sink.denials.push(
      `policy ${policyName} ${failure.message}: the start is refused (--policy-failure=ignore would let it go ahead)`,
    );
    outcome = 'denied';
  } else if (verdict.decision === 'deny') {
    for (const r of verdict.reasons.length ? verdict.reasons : ['(no reason given)'])
      sink.denials.push(`denied by policy ${policyName}: ${r}`);
    outcome = 'denied';
  } else {
    for (const w of verdict.warnings) warn(`${label}: ${w}`);
    outcome = 'admitted';
    if (verdict.patch && !patchIsEmpty(verdict.patch)) {
      try {
        const patched = applyPatch(config, verdict.patch, policyName, cgroups);
        config = patched.config;
        applied = patched.changes;
        if (sink.action !== 'connect') for (const r of patched.replaced) warn(`${label}: ${r}`);
        sink.patches.push(verdict.patch);
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        sink.denials.push(`${err.message}: the start is refused`);
        failure = { kind: 'invalid-patch', message: err.message };
        outcome = 'denied';
      }
    }
  }
  return { config, outcome, applied, failure };
}

/** The error refusing a start, listing every reason of every enforced denial. */
export function refusal(denials: string[]): BoxError {
  return new BoxError(denials.map(printable).join('\nbox: '));
}
