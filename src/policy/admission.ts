// Admission: every policy that applies to a start decides on the fully resolved configuration,
// in order, before any kernel object exists. Enforced patches are applied and re-validated, and
// the next policy sees the patched request. All enforced policies must allow.
//
// Starts are admitted one at a time per host (a lock under the runtime root, held from reading
// what running containers have committed until the caller has recorded the new container), so
// that many starts at once cannot all squeeze past a capacity policy on the same stale sums.
import * as os from 'node:os';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { Lock, lockFile } from '../image/locks';
import { detectCgroups, CgroupHost } from '../linux/cgroups';
import { Roots } from '../paths';
import { ContainerStore } from '../runtime/containers';
import { appendEvent } from '../runtime/events';
import type { ContainerConfig, ContainerRecord } from '../runtime/model';
import { parseDuration } from '../util/units';
import { appendAudit, AuditEntry } from './audit';
import { DEFAULT_TIMEOUT_MS, Policy } from './engine';
import { openPolicy } from './open';
import { applyPatch, patchIsEmpty } from './patch';
import { policyRequest } from './request';
import { PolicyMode, PolicyRef } from './sources';
import type { Committed, Pair } from './types';

export interface AdmissionFlags {
  /** --policy values */
  policies: string[];
  /** --policy-arg KEY=VALUE values */
  args: string[];
  /** --policy-timeout */
  timeout?: string;
  /** --policy-failure deny|ignore */
  failure?: string;
  /** --no-default-policies */
  noDefaults: boolean;
}

/** What the container record keeps of each policy that decided on it (shown by inspect). */
export interface AdmittedBy {
  name: string;
  source: string;
  sha256: string;
  mode: PolicyMode;
  decision: 'allow' | 'deny' | 'failed';
  /** the changes its patch made */
  applied: string[];
  warnings: string[];
}

export interface Admission {
  config: ContainerConfig;
  admittedBy: AdmittedBy[];
  /**
   * Writes the decisions to the audit log and the events (under the container's final name, when
   * box generated one) and releases the admission lock: call once the container is recorded, or
   * without a name when recording it failed. Idempotent.
   */
  finish(name?: string): void;
}

export function parsePolicyArgs(values: string[]): Pair[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq < 1) throw new BoxError(`invalid --policy-arg "${v}": expected KEY=VALUE`);
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

export function parsePolicyTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = /^\d+$/.test(value) ? Number(value) : parseDuration('--policy-timeout', value);
  if (!(ms >= 1 && ms <= 60_000)) throw new BoxError(`invalid --policy-timeout "${value}": give a duration between 1ms and 60s (e.g. 250ms)`);
  return ms;
}

export function parseFailureMode(value: string | undefined): 'deny' | 'ignore' {
  if (value === undefined || value === 'deny') return 'deny';
  if (value === 'ignore') return 'ignore';
  throw new BoxError(`invalid --policy-failure "${value}": use deny (the default: a failing policy refuses the start) or ignore`);
}

/** What the containers already recorded on this host (created, running or restarting) have reserved. */
export function committedResources(roots: Roots, except: string): Committed {
  const c: Committed = { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n };
  for (const r of new ContainerStore(roots).list()) {
    if (r.id === except) continue;
    const status = r.state.status;
    if (status !== 'running' && status !== 'created' && !r.state.restarting) continue;
    const l = r.config.limits;
    c.containers++;
    if (l.memory !== undefined) c.memory += BigInt(l.memory);
    else c.unlimitedMemory++;
    if (l.cpuQuota !== undefined && l.cpuQuota > 0) {
      const period = BigInt(l.cpuPeriod ?? 100000);
      c.millicpus += (BigInt(l.cpuQuota) * 1000n + period - 1n) / period;
    } else c.unlimitedCpu++;
    if (l.pidsLimit !== undefined && l.pidsLimit > 0) c.pids += BigInt(l.pidsLimit);
  }
  return c;
}

function admissionLock(roots: Roots): Promise<Lock> {
  return lockFile(path.join(roots.runroot, 'locks', 'admission.lock'));
}

interface Subject {
  roots: Roots;
  id: string;
  /** the requested name ('' when box will generate one) */
  name: string;
  config: ContainerConfig;
  warn: (msg: string) => void;
}

/**
 * Runs the policies on a start. Returns the configuration to start (patched) with the admission
 * lock held, or throws a BoxError listing every reason of every enforced denial.
 */
export async function admit(subject: Subject, refs: PolicyRef[], flags: AdmissionFlags): Promise<Admission> {
  const { roots, warn } = subject;
  const cliArgs = parsePolicyArgs(flags.args);
  const timeoutMs = parsePolicyTimeout(flags.timeout);
  const failureMode = parseFailureMode(flags.failure);
  const policies: Policy[] = await Promise.all(refs.map((r) => openPolicy(r.ref, roots, { limits: { timeoutMs } })));
  for (const p of policies) p.prepare(); // instantiation is the costly part: not under the lock
  const cgroups: CgroupHost = detectCgroups();
  const lock = await admissionLock(roots);
  try {
    let config = subject.config;
    const admittedBy: AdmittedBy[] = [];
    const audit: AuditEntry[] = [];
    const denials: string[] = [];
    const committed = committedResources(roots, subject.id);
    for (const [i, policy] of policies.entries()) {
      const ref = refs[i];
      const request = policyRequest(config, {
        name: subject.name,
        host: {
          cpus: os.availableParallelism(),
          memoryTotal: os.totalmem(),
          cgroupVersion: cgroups.version,
          storageRoot: roots.root,
          runtimeRoot: roots.runroot,
          committed,
        },
        caller: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
        args: [...ref.args, ...cliArgs],
      });
      const ev = policy.evaluate(request);
      const { verdict, failure } = ev;
      const label = `policy ${policy.name}${ref.mode === 'enforce' ? '' : ` (${ref.mode})`}`;
      let outcome: AuditEntry['outcome'];
      let applied: string[] = [];
      if (failure && failureMode === 'ignore') {
        warn(`${label} failed and --policy-failure=ignore lets the start go ahead: ${failure.message}`);
        outcome = 'failure-ignored';
      } else if (ref.mode === 'audit') {
        outcome = 'recorded';
      } else if (ref.mode === 'warn') {
        for (const r of verdict.reasons) if (verdict.decision === 'deny') warn(`${label} would deny the start: ${r}`);
        for (const w of verdict.warnings) warn(`${label}: ${w}`);
        if (verdict.patch && !patchIsEmpty(verdict.patch)) {
          try {
            const would = applyPatch(config, verdict.patch, policy.name, cgroups).changes;
            if (would.length) warn(`${label} would change: ${would.join(', ')}`);
          } catch (err) {
            warn(`${label}: ${(err as Error).message}`);
          }
        }
        outcome = 'warned';
      } else if (failure) {
        denials.push(`policy ${policy.name} ${failure.message}: the start is refused (--policy-failure=ignore would let it go ahead)`);
        outcome = 'denied';
      } else if (verdict.decision === 'deny') {
        for (const r of verdict.reasons.length ? verdict.reasons : ['(no reason given)']) denials.push(`denied by policy ${policy.name}: ${r}`);
        outcome = 'denied';
      } else {
        for (const w of verdict.warnings) warn(`${label}: ${w}`);
        if (verdict.patch && !patchIsEmpty(verdict.patch)) {
          const patched = applyPatch(config, verdict.patch, policy.name, cgroups);
          config = patched.config;
          applied = patched.changes;
        }
        outcome = 'admitted';
      }
      const durationMs = Math.round((ev.evaluateMs + ev.instantiateMs) * 1000) / 1000;
      audit.push({
        time: new Date().toISOString(),
        container: { id: subject.id, name: subject.name },
        image: { reference: config.image.ref, id: config.image.id },
        policy: { name: policy.name, source: policy.file ?? `builtin:${policy.name}`, sha256: policy.digest },
        mode: ref.mode,
        decision: verdict.decision,
        outcome,
        reasons: verdict.reasons,
        warnings: verdict.warnings,
        patch: verdict.patch,
        applied,
        failure,
        durationMs,
      });
      admittedBy.push({
        name: policy.name,
        source: policy.file ?? `builtin:${policy.name}`,
        sha256: policy.digest,
        mode: ref.mode,
        decision: failure ? 'failed' : verdict.decision,
        applied,
        warnings: verdict.warnings,
      });
    }
    let finished = false;
    const finish = (name = subject.name): void => {
      if (finished) return;
      finished = true;
      try {
        record(roots, audit, { id: subject.id, name, config });
      } finally {
        lock.release();
      }
    };
    if (denials.length) {
      finish();
      throw new BoxError(denials.join('\nbox: '));
    }
    return { config, admittedBy, finish };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The decisions into the audit log and as `policy` events. */
function record(roots: Roots, audit: AuditEntry[], actor: Pick<ContainerRecord, 'id' | 'name' | 'config'>): void {
  for (const a of audit) a.container.name = actor.name;
  appendAudit(roots, audit);
  for (const a of audit) appendEvent(roots, 'policy', actor, { policy: a.policy.name, decision: a.decision, mode: a.mode, outcome: a.outcome });
}
