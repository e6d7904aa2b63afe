// The policy engine: loads a component, checks it, and evaluates requests under a time and a
// memory limit, fail-closed.
//
// Design (see src/policy/README.md for the measurements behind it):
// - The evaluation runs in the box process itself, not in a worker thread. A Worker costs a new
//   V8 isolate and Node environment on every CLI invocation (tens of milliseconds, more than the
//   policy itself), and its resourceLimits only bound the JavaScript heap, not WebAssembly memory,
//   which is where a policy allocates.
// - Time limit: every entry into guest code (a start function, describe, evaluate) runs inside
//   vm's `timeout`, whose watchdog calls V8's TerminateExecution; V8 checks for it on every loop
//   back-edge and function entry of WebAssembly code, so a policy looping forever is stopped at
//   the limit and box continues. The instance is discarded afterwards. A built-in's core module as
//   box's build makes it stops itself instead: deadline checks compiled into it (deadline.ts) trap
//   after a count of loop iterations and calls, and the engine runs it again with a count the time
//   left allows, or reports the time limit (no watchdog thread per call).
// - Memory limit: the memories and tables the core modules define get maxima that together fit
//   the limit (binary rewrite, src/policy/binary.ts) before compilation, so memory.grow and
//   table.grow fail in the guest past it; the guest then traps, which box reports as the memory
//   limit. Initial sizes above it refuse the policy before anything is instantiated. The
//   host-side copy of a verdict is bounded by that memory and by the time limit; what box keeps
//   of it (reasons, warnings, patch) is capped again after (MESSAGE_LIMITS, PATCH_MAX_CHARS).
// - Sandbox: a component with any import is refused, so guest code can reach nothing but the
//   arguments box passes.
// - Two ways to run a component: jco's glue around its core modules (any toolchain's component,
//   transpiled once into a cache), or, for components built like the built-ins (LoadOptions.direct),
//   its one core module called through box's own canonical-ABI codec (admission-abi.ts): no
//   glue to compile, no cache, no jco. Both run under the same limits.
import * as path from 'node:path';
import type * as vm from 'node:vm';
import { BoxError } from '../errors';
import { mark } from '../util/trace';
import { readUserFile } from '../util/user-file';
import { directAdmission, directProblems } from './admission-abi';
import { checkComponentBinary, componentCoreModules, hasStartFunction, limitCoreResources } from './binary';
import { addDeadlineChecks, DEADLINE_EXPORT } from './deadline';
import { AdmissionExports, PolicyInfo, PolicyPatch, PolicyRequest, PolicyVerdict, WIT_EXPORT } from './types';
import { combineVerdicts, isV01, requestsForV01 } from './wit-versions';

export { DEFAULT_TIMEOUT_MS } from './flags';
/**
 * Start-up code (a core module's start function, the component's instantiation) gets this long,
 * or the evaluation limit when that is longer (on a host too busy to give it the CPU, at most
 * three times that in wall time): a componentize-js policy instantiated in 60-90 ms (measured
 * 2026-11-23), a C one in ~2 ms (2026-12-04), both on the 2-core dev VM.
 */
export const DEFAULT_INSTANTIATE_TIMEOUT_MS = 1000;
export const DEFAULT_MEMORY_BYTES = 128 * 1024 * 1024;

export interface PolicyLimits {
  /** wall-clock limit for one evaluation (also for instantiation), milliseconds */
  timeoutMs: number;
  /**
   * wall-clock limit for instantiation (which runs the guest's start code): separate because a
   * JS engine in a component takes tens of milliseconds to instantiate, more on a loaded host
   * (default: DEFAULT_INSTANTIATE_TIMEOUT_MS or timeoutMs, the longer)
   */
  instantiateTimeoutMs: number;
  /** maximum size of the policy's linear memory, bytes */
  memoryBytes: number;
  /** what is kept of a verdict's reasons and of its warnings (default MESSAGE_LIMITS) */
  messages: MessageLimits;
  /** the largest patch taken, all its strings together, in characters (default PATCH_MAX_CHARS) */
  patchChars: number;
}

export interface LoadOptions {
  /** directory of the transpile cache (e.g. `<storage root>/cache/policies`) */
  cacheDir: string;
  /** name shown in messages; default: the file name without .wasm */
  name?: string;
  limits?: Partial<PolicyLimits>;
  /**
   * The component's sha256 when the caller already knows it (built-in policies: computed at
   * build time). On a cache hit the component itself is then never read or hashed.
   */
  knownDigest?: string;
  /** its size in bytes, known with the digest (shown by `box policy inspect` on a cache hit) */
  knownSize?: number;
  /** apply the V8 flags that make loading large modules cheaper (default true; see tuneWasm) */
  tuneV8?: boolean;
  /**
   * Call the component's core module directly (admission-abi.ts) instead of through jco's glue:
   * for components built like the built-ins (one core module, no imports, UTF-8 strings, box's
   * 0.2 interface). No cache entry, no transpiling, no jco; anything else is refused.
   */
  direct?: boolean;
  /**
   * direct, with knownDigest: the core module as builtinCore makes it (the default memory limit,
   * deadline checks), made when box was built (a built-in's policy-NAME.core.wasm): taken as it is
   * under that limit, and stopped at its time limit by its own checks instead of vm's watchdog.
   */
  builtCore?: () => Uint8Array;
}

export type PolicySource =
  | { path: string }
  | { bytes: Uint8Array; name: string }
  /** bytes read only when needed (a built-in whose transpiled form is not cached yet) */
  | { read: () => Uint8Array; name: string };

export type FailureKind = 'timeout' | 'memory' | 'trap' | 'invalid-verdict';

export interface PolicyFailure {
  kind: FailureKind;
  message: string;
}

export interface Evaluation {
  /** the verdict; for a failed policy a deny whose reason says why (fail-closed) */
  verdict: PolicyVerdict;
  /** set when the policy did not produce a verdict; the caller may turn it into a warning (--policy-failure=ignore) */
  failure?: PolicyFailure;
  /** the call into the policy (lowering the request, running it, lifting the verdict) */
  evaluateMs: number;
  /** instantiation done for this evaluation (0 when an instance was reused) */
  instantiateMs: number;
}

export interface LoadTimings {
  readMs: number;
  /** 0 on a cache hit */
  transpileMs: number;
  compileMs: number;
  cacheHit: boolean;
}

/** Why a policy cannot be used at all (bad file, wrong world, imports). */
export class PolicyLoadError extends BoxError {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

/**
 * Milliseconds on a monotonic clock (the global `performance` cost ~1.5 ms to load on first use,
 * measured 2026-12-02 on the 2-core dev VM).
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

// A script whose only purpose is to give guest calls a watchdog: vm's `timeout` applies to
// whatever the script calls, including functions of this realm and WebAssembly code. It runs in
// this context (a context of its own cost ~1 ms to create, measured 2026-12-02 on the 2-core dev
// VM) and finds the call to make under a global symbol, set only for the duration of the call.
// Compiled on first use (~0.04 ms of CPU): a start with built-ins alone never uses it (deadline.ts).
const RUN = Symbol.for('box.policy.watchdog.run');
let watchdogScript: vm.Script | undefined;
const runSlot = globalThis as { [RUN]?: () => unknown };

class TimeoutError extends Error {}

/**
 * The wall time one evaluation may take, in multiples of its time limit, when the watchdog
 * stopped it while the process was starved of CPU and it is retried (see Policy.call).
 */
export const CALL_WALL_FACTOR = 3;

export function withTimeLimit<T>(timeoutMs: number, fn: () => T): T {
  runSlot[RUN] = fn;
  try {
    // (required here: a built-in's start never needs it)
    watchdogScript ??= new (require('node:vm') as typeof vm).Script(
      `globalThis[Symbol.for('box.policy.watchdog.run')]()`,
      {
        filename: 'box-policy-watchdog',
      },
    );
    return watchdogScript.runInThisContext({ timeout: Math.max(1, Math.round(timeoutMs)), breakOnSigint: false }) as T;
  } catch (err) {
    if (errCode(err) === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      throw new TimeoutError(`exceeded its time limit of ${timeoutMs} ms`);
    throw err;
  } finally {
    delete runSlot[RUN];
  }
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface Live {
  admission: AdmissionExports;
  memories: WebAssembly.Memory[];
  /** a module with deadline checks (deadline.ts): the checks its running call may still pass */
  checksLeft?: WebAssembly.Global;
}

/**
 * The checks the first run of a call into a module with deadline checks may pass (deadline.ts):
 * a built-in's evaluation of an empty request passes 2,582 (baseline) and 6,219 (strict); a bare
 * loop passes a million in 0.25-0.75 ms (2026-12-05, 2-core dev VM), a loop of more code in more.
 */
export const FIRST_RUN_CHECKS = 1 << 18;

/** How a policy's code is run: jco's glue around its core modules, or its one core module directly. */
type PolicyCode =
  /** (glue.ts) `called`: after each successful call (the glue's code cache is saved after the first) */
  | { kind: 'glue'; instantiate(wallMs: number, exportName: string, name: string): Live; called(): void }
  /**
   * `starts`: the module has a start function, guest code run by its instantiation; `checksDeadline`:
   * box's build added deadline checks to it (a built-in's, deadline.ts), which stop it instead of vm's watchdog
   */
  | { kind: 'direct'; module: WebAssembly.Module; starts: boolean; checksDeadline: boolean };

export class Policy {
  private live: Live | undefined;
  private prepareFailure: PolicyFailure | undefined;
  private preparedMs = 0;

  constructor(
    readonly name: string,
    /** the file it was loaded from, if any */
    readonly file: string | undefined,
    readonly digest: string,
    readonly size: number,
    /** the export implementing box's interface, e.g. box:policy/admission@0.1.0 */
    readonly exportName: string,
    readonly imports: string[],
    readonly exports: Array<[string, string]>,
    readonly limits: PolicyLimits,
    readonly timings: LoadTimings,
    private readonly code: PolicyCode,
  ) {}

  get witVersion(): string {
    return this.exportName.slice(this.exportName.indexOf('@') + 1);
  }

  /**
   * Instantiates under the start-up limit, retried once with twice the wall time (see call) when
   * the watchdog stopped it while the process was starved of CPU: at most 3 times the limit.
   * `capMs`: what is left of an evaluation's wall budget when a retry of it must instantiate
   * again; running out of it is the evaluation's time limit, not the start-up one.
   */
  private instantiate(capMs = Infinity): Live {
    const cpuBefore = process.cpuUsage();
    try {
      return this.instantiateOnce(Math.min(this.limits.instantiateTimeoutMs, capMs));
    } catch (err) {
      return this.instantiateAgain(err, capMs, cpuBefore);
    }
  }

  /** instantiate's handling of a failed first try (apart: a built-in's start never compiles it). */
  private instantiateAgain(err: unknown, capMs: number, cpuBefore: NodeJS.CpuUsage): Live {
    const limitMs = this.limits.instantiateTimeoutMs;
    let wallMs = limitMs;
    for (let attempt = 0; ; attempt++) {
      if (!(err instanceof TimeoutError)) throw err;
      if (capMs <= wallMs) throw new TimeoutError(`exceeded its time limit of ${this.limits.timeoutMs} ms`);
      const cpu = process.cpuUsage(cpuBefore);
      if (attempt >= 1 || (cpu.user + cpu.system) / 1000 >= limitMs * 0.8)
        throw new TimeoutError(`exceeded its start-up time limit of ${limitMs} ms`);
      wallMs *= 2;
      cpuBefore = process.cpuUsage();
      try {
        return this.instantiateOnce(Math.min(wallMs, capMs));
      } catch (e) {
        err = e;
      }
    }
  }

  private instantiateOnce(wallMs: number): Live {
    const code = this.code;
    if (code.kind === 'direct') {
      // Without a start function (the built-ins have none), instantiating runs no guest code: it
      // needs no watchdog, whose thread cost ~0.1 ms of CPU (measured 2026-12-05 on the 2-core dev VM).
      const instance = code.starts
        ? withTimeLimit(wallMs, () => new WebAssembly.Instance(code.module, {}))
        : new WebAssembly.Instance(code.module, {});
      const memories = Object.values(instance.exports).filter((v) => v instanceof WebAssembly.Memory);
      const checksLeft = code.checksDeadline ? (instance.exports[DEADLINE_EXPORT] as WebAssembly.Global) : undefined;
      return { admission: directAdmission(instance), memories, checksLeft };
    }
    return code.instantiate(wallMs, this.exportName, this.name);
  }

  private classify(err: unknown, live: Live | undefined): PolicyFailure {
    if (err instanceof TimeoutError) return { kind: 'timeout', message: err.message };
    const message = errMessage(err);
    const near = this.limits.memoryBytes - 16 * 1024 * 1024;
    if (live?.memories.some((m) => m.buffer.byteLength >= near)) {
      return {
        kind: 'memory',
        message: `exceeded its memory limit of ${Math.round(this.limits.memoryBytes / 1048576)} MiB (${message})`,
      };
    }
    if (err instanceof RangeError && /stack|memory|allocation/i.test(message))
      return { kind: 'memory', message: `ran out of resources: ${message}` };
    if (err instanceof WebAssembly.RuntimeError) {
      const hint = /unreachable/.test(message) ? ' (a trap, or an exception the policy did not catch)' : '';
      return { kind: 'trap', message: `trapped: ${message}${hint}` };
    }
    return { kind: 'trap', message: `failed: ${message}` };
  }

  /**
   * Runs `fn` against a live instance, making one if needed; any failure discards the instance.
   * callMs is the evaluation's wall time, from its first entry into the policy (after making an
   * instance, which instantiateMs counts) to its result or its stop, a retry and its instance
   * included: at most CALL_WALL_FACTOR times the limit.
   */
  private call<T>(fn: (a: AdmissionExports) => T): {
    value?: T;
    failure?: PolicyFailure;
    instantiateMs: number;
    callMs: number;
  } {
    // An instantiation done by prepare() is reported by the call it was done for.
    let instantiateMs = this.preparedMs;
    this.preparedMs = 0;
    if (this.prepareFailure) {
      const failure = this.prepareFailure;
      this.prepareFailure = undefined;
      return { failure, instantiateMs, callMs: 0 };
    }
    if (!this.live) {
      const ti = nowMs();
      try {
        this.live = this.instantiate();
      } catch (err) {
        if (err instanceof PolicyLoadError) throw err;
        return { failure: this.classify(err, undefined), instantiateMs: instantiateMs + nowMs() - ti, callMs: 0 };
      }
      instantiateMs += nowMs() - ti;
    }
    const t = nowMs();
    const cpuBefore = process.cpuUsage();
    const live = this.live;
    try {
      const value = this.attempt(live, this.limits.timeoutMs, fn);
      if (this.code.kind === 'glue') this.code.called();
      return { value, instantiateMs, callMs: nowMs() - t };
    } catch (err) {
      return this.afterFailedAttempt(fn, err, live, cpuBefore, t, instantiateMs);
    }
  }

  /**
   * The rest of a call whose first attempt failed (a method of its own: a call that succeeds, every
   * built-in's allowed start, never compiles it). The limit is on the policy's own running time,
   * but the watchdog can only measure wall time: on a host busy with many starts at once, a policy
   * that needs 5 ms of CPU may not get them within the limit. A call stopped by the watchdog while
   * the process used less than most of the limit in CPU time is run again (policies are pure
   * functions, the stopped instance is replaced) with what is left of a wall budget of
   * CALL_WALL_FACTOR times the limit, counted from the call's start `t` (not from when the retry
   * gets scheduled): however busy the host, a call ends within the budget; a policy that really
   * loops uses its CPU and is stopped at the limit.
   */
  private afterFailedAttempt<T>(
    fn: (a: AdmissionExports) => T,
    firstErr: unknown,
    firstLive: Live,
    firstCpuBefore: NodeJS.CpuUsage,
    t: number,
    instantiateMs: number,
  ): { value?: T; failure?: PolicyFailure; instantiateMs: number; callMs: number } {
    const limitMs = this.limits.timeoutMs;
    const budgetEnd = t + limitMs * CALL_WALL_FACTOR;
    let err = firstErr;
    let live = firstLive;
    let cpuBefore = firstCpuBefore;
    for (;;) {
      live = this.live ?? live; // (the last instance an attempt made)
      this.live = undefined; // a trapped or terminated instance is never used again
      const cpu = process.cpuUsage(cpuBefore);
      const starved = err instanceof TimeoutError && (cpu.user + cpu.system) / 1000 < limitMs * 0.8;
      if (!starved || budgetEnd - nowMs() < limitMs / 2) {
        const failure = this.classify(err, live);
        if (err instanceof TimeoutError) failure.message = `exceeded its time limit of ${limitMs} ms`;
        return { failure, instantiateMs, callMs: nowMs() - t };
      }
      // The retry's instance and the retry itself share what is left of the budget.
      try {
        live = this.instantiate(Math.max(1, budgetEnd - nowMs()));
        this.live = live;
      } catch (err) {
        if (err instanceof PolicyLoadError) throw err;
        return { failure: this.classify(err, undefined), instantiateMs, callMs: nowMs() - t };
      }
      const wallMs = Math.max(1, budgetEnd - nowMs());
      cpuBefore = process.cpuUsage();
      try {
        const value = this.attempt(live, wallMs, fn);
        if (this.code.kind === 'glue') this.code.called();
        return { value, instantiateMs, callMs: nowMs() - t };
      } catch (e) {
        err = e;
      }
    }
  }

  /**
   * One attempt at a call, stopped after `wallMs`: under vm's watchdog, or, for a module with
   * deadline checks, run with a count of checks, and run again on a fresh instance with more of
   * them while the time left allows at the rate the last run passed them (deadline.ts).
   */
  private attempt<T>(first: Live, wallMs: number, fn: (a: AdmissionExports) => T): T {
    const left = first.checksLeft;
    if (!left) return withTimeLimit(wallMs, () => fn(first.admission));
    const endsAt = nowMs() + wallMs;
    const start = nowMs();
    left.value = FIRST_RUN_CHECKS;
    try {
      return fn(first.admission);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError) || left.value !== 0) throw err;
    }
    return this.attemptWithMoreChecks(fn, wallMs, endsAt, start);
  }

  /** attempt's runs after the first ran out of checks (apart: a built-in's start never compiles it). */
  private attemptWithMoreChecks<T>(
    fn: (a: AdmissionExports) => T,
    wallMs: number,
    endsAt: number,
    firstStart: number,
  ): T {
    let checks = FIRST_RUN_CHECKS;
    let start = firstStart;
    for (;;) {
      const now = nowMs();
      const more = Math.floor((checks * (endsAt - now)) / Math.max(now - start, 0.001));
      if (more <= checks) throw new TimeoutError(`exceeded its time limit of ${wallMs} ms`);
      checks = Math.min(more, 0x7fffffff);
      const live = this.instantiate(Math.max(1, endsAt - nowMs()));
      this.live = live;
      start = nowMs();
      const left = live.checksLeft as WebAssembly.Global;
      left.value = checks;
      try {
        return fn(live.admission);
      } catch (err) {
        if (!(err instanceof WebAssembly.RuntimeError) || left.value !== 0) throw err;
      }
    }
  }

  /**
   * Instantiates now (so that a caller can do it before taking a lock); a failure is kept for
   * the next evaluation to report.
   */
  prepare(): void {
    if (this.live) return;
    const t = nowMs();
    try {
      this.live = this.instantiate();
    } catch (err) {
      if (err instanceof PolicyLoadError) throw err;
      this.prepareFailure = this.classify(err, undefined); // reported by the next call
    }
    this.preparedMs = nowMs() - t;
    mark('policy instantiated');
  }

  /** The policy's self-description. Throws a PolicyLoadError if it fails. */
  describe(): PolicyInfo {
    const r = this.call((a) => a.describe());
    if (r.failure) throw new PolicyLoadError(`${this.name}: describe ${r.failure.message}`);
    return r.value as PolicyInfo;
  }

  /**
   * Evaluates a request. Never throws for a misbehaving policy: it denies (fail-closed). A 0.1
   * policy is given the request projected onto 0.1, once per network (wit-versions.ts).
   */
  evaluate(request: PolicyRequest): Evaluation {
    // A 0.2 policy's call (every built-in's) is made here; the 0.1 projection's calls and every
    // failure are methods of their own, which a built-in's allowed start never compiles.
    if (isV01(this.witVersion)) return this.evaluateEach(requestsForV01(request));
    const r = this.call((a) => a.evaluate(request));
    const problem = r.failure ? undefined : verdictProblem(r.value, this.limits.patchChars);
    if (r.failure || problem) return this.denial(r.failure ?? invalidVerdict(problem), r.callMs, r.instantiateMs);
    return { verdict: this.bounded(r.value as PolicyVerdict), evaluateMs: r.callMs, instantiateMs: r.instantiateMs };
  }

  /** A 0.1 policy's evaluation: one call per projected request, the verdicts combined. */
  private evaluateEach(requests: unknown[]): Evaluation {
    const verdicts: PolicyVerdict[] = [];
    let evaluateMs = 0;
    let instantiateMs = 0;
    for (const req of requests) {
      const r = this.call((a) => a.evaluate(req as PolicyRequest));
      evaluateMs += r.callMs;
      instantiateMs += r.instantiateMs;
      const problem = r.failure ? undefined : verdictProblem(r.value, this.limits.patchChars);
      if (r.failure || problem) return this.denial(r.failure ?? invalidVerdict(problem), evaluateMs, instantiateMs);
      verdicts.push(r.value as PolicyVerdict);
    }
    const v = verdicts.length === 1 ? verdicts[0] : combineVerdicts(verdicts);
    if (typeof v === 'string') return this.denial({ kind: 'invalid-verdict', message: v }, evaluateMs, instantiateMs);
    return { verdict: this.bounded(v), evaluateMs, instantiateMs };
  }

  /** A verdict with its reasons and warnings within the limits (lists left as they are when empty). */
  private bounded(v: PolicyVerdict): PolicyVerdict {
    const { messages } = this.limits;
    const reasons = v.reasons.length ? boundMessages(v.reasons, 'reasons', messages) : v.reasons;
    return {
      ...v,
      reasons,
      warnings: v.warnings.length ? boundMessages(v.warnings, 'warnings', messages) : v.warnings,
    };
  }

  /** The fail-closed evaluation of a policy that failed. */
  private denial(f: PolicyFailure, evaluateMs: number, instantiateMs: number): Evaluation {
    // A trap's message can be the guest's text.
    f.message = boundMessages([f.message], 'reasons', this.limits.messages)[0];
    return {
      verdict: { decision: 'deny', reasons: [`policy ${this.name} ${f.message}`], warnings: [] },
      failure: f,
      evaluateMs,
      instantiateMs,
    };
  }

  /** Drops the live instance (the next evaluation instantiates afresh). */
  reset(): void {
    this.live = undefined;
  }
}

/** What box keeps of a verdict's reasons and of its warnings (each list): they are printed and audited. */
export interface MessageLimits {
  /** messages kept */
  count: number;
  /** characters kept of one message */
  chars: number;
  /** characters kept of all of them */
  totalChars: number;
}
export const MESSAGE_LIMITS: MessageLimits = { count: 20, chars: 1024, totalChars: 8192 };
/**
 * The largest patch box takes (all its strings together, in characters): a patch is audited and
 * recorded with the container, and may grow with the request (a read-only mount per bind mount).
 */
export const PATCH_MAX_CHARS = 1 << 20;

function verdictProblem(v: unknown, patchChars: number): string | undefined {
  if (typeof v !== 'object' || v === null) return 'not a record';
  const r = v as Partial<PolicyVerdict>;
  if (r.decision !== 'allow' && r.decision !== 'deny') return `decision ${String(r.decision)}`;
  if (!Array.isArray(r.reasons) || !Array.isArray(r.warnings)) return 'reasons or warnings missing';
  return r.patch ? patchProblem(r.patch, patchChars) : undefined;
}

function patchProblem(p: PolicyPatch, patchChars: number): string | undefined {
  const ulimitNames = (p.limits?.ulimits ?? []).map((u) => u.name);
  const pairs = [...p.addEnv.flat(), ...p.addLabels.flat()];
  const strings = [...p.dropCapabilities, ...p.readOnlyMounts, ...pairs, ...ulimitNames];
  const chars = strings.reduce((n, x) => n + x.length, 0) + (p.limits?.cpusetCpus?.length ?? 0);
  if (chars > patchChars) return `its patch holds ${chars} characters, more than box takes (${patchChars})`;
  return undefined;
}

function invalidVerdict(problem: string | undefined): PolicyFailure {
  return { kind: 'invalid-verdict', message: `returned an invalid verdict: ${problem}` };
}

/**
 * A list of reasons or warnings within the limits: longer messages are cut and the rest of
 * the list dropped past the count or total size, each time saying so in the list itself.
 */
export function boundMessages(list: string[], noun: 'reasons' | 'warnings', limits = MESSAGE_LIMITS): string[] {
  const out: string[] = [];
  let total = 0;
  for (const [i, message] of list.entries()) {
    if (out.length === limits.count || total >= limits.totalChars) {
      const chars = list.slice(i).reduce((n, m) => n + m.length, 0);
      const kept = `at most ${limits.count} ${noun} of ${limits.totalChars} characters are kept`;
      out.push(`(box dropped ${list.length - i} more ${noun}, ${chars} characters: ${kept})`);
      break;
    }
    const room = Math.min(limits.chars, limits.totalChars - total);
    const cut = message.length - room;
    out.push(cut > 0 ? `${message.slice(0, room)}... (box cut ${cut} characters)` : message);
    total += Math.min(message.length, room);
  }
  return out;
}

export function describeSource(source: PolicySource, opts: LoadOptions): { name: string; what: string; file?: string } {
  if ('path' in source) {
    const name = opts.name ?? path.basename(source.path).replace(/\.wasm$/, '');
    return { name, what: `policy ${source.path}`, file: source.path };
  }
  return { name: opts.name ?? source.name, what: `policy ${opts.name ?? source.name}` };
}

/** A component built from JavaScript was 12 MiB (measured 2026-12-04); one from C, Rust or Go far less. */
export const POLICY_FILE_MAX = 64 << 20;

export function readSource(source: PolicySource): Uint8Array {
  if ('bytes' in source) return source.bytes;
  if ('read' in source) return source.read();
  try {
    const hint = 'give a policy component (.wasm file)';
    return readUserFile(source.path, { what: 'policy', maxBytes: POLICY_FILE_MAX, hint });
  } catch (err) {
    throw new PolicyLoadError((err as Error).message);
  }
}

/**
 * The core module box calls directly in a component built like the built-ins: its one core module
 * with the memory limit applied, and whether it has a start function; throws a PolicyLoadError or
 * PolicyFormatError for anything else. box's build makes the built-ins' with the default limit.
 */
export function directCore(
  bytes: Uint8Array,
  what: string,
  memoryBytes: number,
): { core: Uint8Array; starts: boolean } {
  checkComponentBinary(bytes, what);
  const cores = componentCoreModules(bytes, what);
  if (cores.length !== 1) throw new PolicyLoadError(`${what} embeds ${cores.length} core modules, not one`);
  return { core: limitCoreResources(cores, memoryBytes, what)[0], starts: hasStartFunction(cores[0], what) };
}

/**
 * A built-in's core module as box's build makes it (policy-NAME.core.wasm): directCore's with the
 * default memory limit, checked to be callable directly, with deadline checks (deadline.ts).
 */
export function builtinCore(component: Uint8Array, what: string): Uint8Array {
  const { core, starts } = directCore(component, what, DEFAULT_MEMORY_BYTES);
  const problems = directProblems(new WebAssembly.Module(core));
  if (starts) problems.push('has a start function');
  if (problems.length) throw new PolicyLoadError(`${what} cannot be called directly: it ${problems.join(', ')}`);
  const checked = addDeadlineChecks(core, what);
  new WebAssembly.Module(checked); // (validates the rewrite)
  return checked;
}

/**
 * Loads a built-in's core module as box's build made it (policy-NAME.core.wasm: the default memory
 * limit applied, deadline checks added, checked to be callable directly), compiled. Its digest was
 * computed when box was built, and its bytes are part of the executable.
 */
export function loadBuilt(
  source: PolicySource,
  opts: LoadOptions,
  limits: PolicyLimits,
  builtCore: () => Uint8Array,
): Policy {
  const { name, what, file } = describeSource(source, opts);
  const t0 = nowMs();
  const core = builtCore();
  const t1 = nowMs();
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(core);
  } catch (err) {
    throw new PolicyLoadError(`${what}: its code does not compile: ${errMessage(err)}`);
  }
  mark('policy compiled');
  return new Policy(
    name,
    file,
    opts.knownDigest as string,
    opts.knownSize ?? 0,
    WIT_EXPORT,
    [],
    [[WIT_EXPORT, 'instance']],
    limits,
    { readMs: t1 - t0, transpileMs: 0, compileMs: nowMs() - t1, cacheHit: true },
    { kind: 'direct', module, starts: false, checksDeadline: true },
  );
}
