// Health checks of detached containers, with Docker's semantics, scheduled by the native monitor
// (native/PROTOCOL.md "Health checks"): box resolves the check (flags over the image's
// HEALTHCHECK), hands the monitor the probe's exec spec (the container's user, capabilities,
// seccomp, no_new_privs, env, cgroup: what `box exec` uses), and reads the health file the monitor
// keeps for `inspect` and `ps`.
import * as os from 'node:os';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { ImageRuntimeConfig } from '../image/config';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { parseSignal } from '../linux/signals';
import { Roots } from '../paths';
import { parseDurationNs } from '../util/units';
import { eventsFile } from './events';
import { ContainerConfig, ContainerRecord, HealthConfig, HealthOnFailure } from '../model';
import { runtimeDir } from './monitor-state';
import { appendProcessOps, containerProcess } from './process-ops';
import { ProcessSecurity, processSecurity } from './security';
import { HelperSpec } from './spec';
import { readNoFollow } from '../util/safe-open';

/** The container's health check (ContainerConfig.healthcheck, typed here until model.ts has it). */
export function healthOf(record: Pick<ContainerRecord, 'config'>): HealthConfig | undefined {
  return (record.config as ContainerConfig & { healthcheck?: HealthConfig }).healthcheck;
}

const S = 1e9;
export const HEALTH_DEFAULTS = { interval: 30 * S, timeout: 30 * S, startPeriod: 0, startInterval: 5 * S, retries: 3 };
/** Docker's smallest non-zero duration of a health check option. */
const MIN_DURATION = 1e6;
/** How long `--health-on-failure stop` waits after the stop signal before SIGKILL. */
const STOP_GRACE_NS = 10 * S;

// The --health-* options by their key in the parsed flags (run-flags.ts declares them), named in errors.
const HEALTH_OPTIONS: Record<string, string> = {
  healthCmd: '--health-cmd',
  healthInterval: '--health-interval',
  healthTimeout: '--health-timeout',
  healthRetries: '--health-retries',
  healthStartPeriod: '--health-start-period',
  healthStartInterval: '--health-start-interval',
  healthOnFailure: '--health-on-failure',
};

function durationFlag(flags: Record<string, unknown>, key: string): number | undefined {
  const v = flags[key];
  const flag = HEALTH_OPTIONS[key];
  if (v === undefined) return undefined;
  const ns = parseDurationNs(flag, String(v));
  if (ns !== 0 && ns < MIN_DURATION)
    throw new BoxError(`invalid value "${String(v)}" for ${flag}: it must be at least 1ms`);
  return ns;
}

/** An image HEALTHCHECK's duration: a number of nanoseconds; 0 or absent means "inherit". */
function imageDuration(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * The container's health check from `run`/`create` flags and the image's Healthcheck, Docker's
 * way: --no-healthcheck (or a test of NONE) disables it; a flag overrides the image's field; a
 * field left at zero takes the default. Undefined when the container has no health check.
 */
export function parseHealthFlags(flags: Record<string, unknown>, image: ImageRuntimeConfig): HealthConfig | undefined {
  const given = Object.keys(HEALTH_OPTIONS).filter((key) => flags[key] !== undefined);
  const onFailureFlag = flags.healthOnFailure;
  if (flags.noHealthcheck === true) {
    const conflicting = given.filter((key) => key !== 'healthOnFailure' || onFailureFlag !== 'none');
    if (conflicting.length) {
      throw new BoxError(`--no-healthcheck conflicts with ${conflicting.map((key) => HEALTH_OPTIONS[key]).join(', ')}`);
    }
    return undefined;
  }
  const onFailure = (onFailureFlag ?? 'none') as HealthOnFailure;
  if (!['none', 'kill', 'restart', 'stop'].includes(onFailure)) {
    throw new BoxError(`invalid --health-on-failure "${String(onFailureFlag)}": use none, kill, restart or stop`);
  }
  const interval = durationFlag(flags, 'healthInterval');
  const timeout = durationFlag(flags, 'healthTimeout');
  const startPeriod = durationFlag(flags, 'healthStartPeriod');
  const startInterval = durationFlag(flags, 'healthStartInterval');
  let retries: number | undefined;
  if (flags.healthRetries !== undefined) {
    const r = String(flags.healthRetries);
    if (!/^\d+$/.test(r))
      throw new BoxError(`invalid value "${r}" for --health-retries: expected a non-negative integer`);
    retries = Number(r);
  }
  const ih = image.Healthcheck;
  let test: string[] | undefined;
  if (flags.healthCmd !== undefined) {
    const cmd = String(flags.healthCmd);
    test = cmd === '' ? undefined : ['CMD-SHELL', cmd];
  }
  if (!test && ih?.Test?.length) test = ih.Test;
  if (!test || test[0] === 'NONE') {
    if (given.some((key) => key !== 'healthOnFailure')) {
      throw new BoxError(
        'health check options need a health check: give --health-cmd, or use an image with a HEALTHCHECK',
      );
    }
    if (onFailure !== 'none')
      throw new BoxError(
        '--health-on-failure needs a health check: give --health-cmd, or use an image with a HEALTHCHECK',
      );
    return undefined;
  }
  if (test[0] === 'CMD-SHELL') {
    if (test.length !== 2)
      throw new BoxError(`invalid image HEALTHCHECK ${JSON.stringify(test)}: CMD-SHELL takes one command string`);
  } else if (test[0] === 'CMD') {
    if (test.length < 2) throw new BoxError(`invalid image HEALTHCHECK ${JSON.stringify(test)}: CMD needs a command`);
  } else if (test.length > 0) {
    // Docker treats a test without a known first word as CMD-SHELL of the whole line
    test = ['CMD-SHELL', test.join(' ')];
  }
  const pick = (flag: number | undefined, img: unknown, def: number) => flag || imageDuration(img) || def;
  return {
    test,
    interval: pick(interval, ih?.Interval, HEALTH_DEFAULTS.interval),
    timeout: pick(timeout, ih?.Timeout, HEALTH_DEFAULTS.timeout),
    startPeriod: pick(startPeriod, ih?.StartPeriod, HEALTH_DEFAULTS.startPeriod),
    startInterval: pick(startInterval, ih?.StartInterval, HEALTH_DEFAULTS.startInterval),
    retries: retries || (typeof ih?.Retries === 'number' && ih.Retries > 0 ? ih.Retries : HEALTH_DEFAULTS.retries),
    onFailure,
  };
}

export function healthFile(roots: { runroot: string }, id: string): string {
  return path.join(runtimeDir(roots as Roots, id), 'health');
}

/** argv of the probe: CMD-SHELL runs with /bin/sh -c, CMD as given. */
export function probeArgs(h: HealthConfig): string[] {
  return h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test[1]] : h.test.slice(1);
}

/** The probe's exec spec (PROTOCOL.md: `box-helper exec` ops without join and tty), as `box exec`. */
export function probeSpec(record: ContainerRecord, cgroupJoin: string[], security: ProcessSecurity): HelperSpec {
  const spec = new HelperSpec();
  for (const f of cgroupJoin) spec.op('cgroup-join', f);
  appendProcessOps(spec, containerProcess(record.config, security));
  spec.op('args', ...probeArgs(healthOf(record)!));
  return spec;
}

/** The `health_status` event line the monitor fills in (events.ts's shape; {{...}} placeholders). */
export function healthEventTemplate(record: Pick<ContainerRecord, 'id' | 'name' | 'config'>): string {
  const action = 'health_status: {{status}}';
  const ev = {
    Type: 'container',
    Action: action,
    status: action,
    id: record.id,
    from: record.config.image.ref,
    // as every other event's (events.ts): the labels first, so `events --filter label=` sees it
    Actor: {
      ID: record.id,
      Attributes: { ...record.config.labels, image: record.config.image.ref, name: record.name },
    },
    scope: 'local',
    time: '{{time}}',
    timeNano: '{{timeNano}}',
  };
  return JSON.stringify(ev).replace('"{{time}}"', '{{time}}').replace('"{{timeNano}}"', '{{timeNano}}');
}

/** Appends the helper ops that make the monitor run the container's health check, if it has one. */
export function appendHealthOps(
  spec: HelperSpec,
  record: ContainerRecord,
  roots: { root: string; runroot: string },
): void {
  const h = healthOf(record);
  if (!h) return;
  const join = containerCgroup(detectCgroups(), record.id).joinFiles();
  spec.op('health', h.interval, h.startInterval, h.startPeriod, h.timeout, h.retries, healthFile(roots, record.id));
  spec.op('health-exec', probeSpec(record, join, processSecurity(record.config)).encode());
  spec.op('health-event', eventsFile(roots as Roots), healthEventTemplate(record));
  if (h.onFailure === 'kill' || h.onFailure === 'restart') {
    spec.op('health-on-failure', h.onFailure, os.constants.signals.SIGKILL, 0);
  } else if (h.onFailure === 'stop') {
    const signal = parseSignal(record.config.stopSignal ?? 'SIGTERM', 'stop signal');
    spec.op('health-on-failure', 'stop', signal, STOP_GRACE_NS);
  }
}

export interface HealthResult {
  start: bigint;
  end: bigint;
  exitCode: number;
  output: Buffer;
}

export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  /** the on-failure action the monitor took, if any */
  action?: { name: string; at: bigint };
  log: HealthResult[];
}

/** Parses the monitor's health file (PROTOCOL.md); undefined if missing or malformed. */
export function parseHealthFile(data: Buffer): HealthState | undefined {
  const st: HealthState = { status: 'starting', failingStreak: 0, log: [] };
  let off = 0;
  const line = (): string | undefined => {
    if (off >= data.length) return undefined;
    const nl = data.indexOf(0x0a, off);
    if (nl < 0) return undefined;
    const s = data.subarray(off, nl).toString('utf8');
    off = nl + 1;
    return s;
  };
  for (let l = line(); l !== undefined; l = line()) {
    const w = l.split(' ');
    if (w[0] === 'status' && (w[1] === 'starting' || w[1] === 'healthy' || w[1] === 'unhealthy')) st.status = w[1];
    else if (w[0] === 'failing') st.failingStreak = Number(w[1]);
    else if (w[0] === 'action') st.action = { name: w[1], at: BigInt(w[2]) };
    else if (w[0] === 'result' && w.length === 5) {
      const len = Number(w[4]);
      if (off + len + 1 > data.length) return undefined;
      st.log.push({
        start: BigInt(w[1]),
        end: BigInt(w[2]),
        exitCode: Number(w[3]),
        output: data.subarray(off, off + len),
      });
      off += len + 1;
    } else return undefined;
  }
  return st;
}

export function readHealth(roots: { root: string; runroot: string }, id: string): HealthState | undefined {
  try {
    return parseHealthFile(readNoFollow(healthFile(roots, id)));
  } catch {
    return undefined;
  }
}

/** Go's RFC 3339 with nanoseconds, as Docker prints health log times. */
export function nanosToRfc3339(ns: bigint): string {
  const ms = Number(ns / 1000000n);
  const frac = (ns % 1000000000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

/** State.Health of `box inspect`, or undefined for a container without a health check. */
export function healthForInspect(
  record: ContainerRecord,
  roots: { root: string; runroot: string },
): Record<string, unknown> | undefined {
  if (!healthOf(record)) return undefined;
  const h = record.state.status === 'running' ? readHealth(roots, record.id) : undefined;
  const st = h ?? { status: 'starting', failingStreak: 0, log: [] };
  return {
    Status: record.state.status === 'running' ? st.status : 'unhealthy',
    FailingStreak: st.failingStreak,
    Log: st.log.map((r) => ({
      Start: nanosToRfc3339(r.start),
      End: nanosToRfc3339(r.end),
      ExitCode: r.exitCode,
      Output: r.output.toString('utf8'),
    })),
  };
}

/** " (healthy)", " (unhealthy)", " (health: starting)" or "" for `box ps`. */
export function healthSuffix(record: ContainerRecord, roots: { root: string; runroot: string }): string {
  if (!healthOf(record) || record.state.status !== 'running') return '';
  const st = readHealth(roots, record.id)?.status ?? 'starting';
  return st === 'starting' ? ' (health: starting)' : ` (${st})`;
}

/**
 * The on-failure action the monitor took before the container exited ('kill', 'stop', 'restart'),
 * read by the exit callback (the health file is still there then): 'restart' asks for a restart
 * whatever the restart policy, 'stop' for none.
 */
export function healthActionTaken(roots: { root: string; runroot: string }, id: string): string | undefined {
  return readHealth(roots, id)?.action?.name;
}
