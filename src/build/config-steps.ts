// The instructions that only change the image's config (ENV, LABEL, WORKDIR, USER, EXPOSE,
// VOLUME, CMD, ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, SHELL, MAINTAINER): each becomes an empty
// layer in the history. Arguments are expanded with the stage's variables first, where Docker
// expands them (not in CMD, ENTRYPOINT, SHELL or HEALTHCHECK, which the container's shell reads).
import * as path from 'node:path';
import { BoxError } from '../errors';
import { ImageRuntimeConfig } from '../image/config';
import { parseDurationNs, parseNonNegativeInt } from '../util/units';
import { checkSignalName, mergeEnv } from '../runtime/run-options';
import { Instruction, parseDockerfile } from './dockerfile';
import { Vars, word, words } from './substitute';

/** What a stage carries besides its image config. */
export interface StageVars {
  shell: string[];
  /** CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** `K=V K2="a b"` (or the old `K V` form) as pairs. */
export function keyValues(ins: Instruction, vars: Vars, escapeChar: string): [string, string][] {
  const list = words(ins.args, vars, escapeChar);
  if (!list[0]?.includes('=')) {
    // the legacy form: the first word is the name, the rest (as written, expanded) the value
    const m = /^(\S+)\s+(.*)$/s.exec(ins.args);
    if (!m) throw new BoxError(`${ins.keyword} ${ins.args}: expected NAME=VALUE`);
    return [[m[1], word(m[2], vars, escapeChar)]];
  }
  return list.map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0)
      throw new BoxError(`${ins.keyword}: "${kv}" is not NAME=VALUE: write NAME=VALUE (quote values with spaces)`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/** A CMD, ENTRYPOINT or HEALTHCHECK command: the JSON form as it is, the shell form through SHELL. */
export function commandOf(json: string[] | undefined, args: string, shell: string[]): string[] {
  return json ?? [...shell, args];
}

/** Applies a config-only instruction to `rc` (changed in place). */
export function applyConfigStep(
  ins: Instruction,
  rc: ImageRuntimeConfig,
  stage: StageVars,
  vars: Vars,
  escapeChar: string,
): void {
  switch (ins.keyword) {
    case 'ENV':
      rc.Env = mergeEnv(
        rc.Env ?? [],
        keyValues(ins, vars, escapeChar).map(([k, v]) => `${k}=${v}`),
      );
      return;
    case 'LABEL':
      rc.Labels = { ...(rc.Labels ?? {}), ...Object.fromEntries(keyValues(ins, vars, escapeChar)) };
      return;
    case 'WORKDIR': {
      const dir = word(ins.args, vars, escapeChar);
      rc.WorkingDir = path.posix.resolve(rc.WorkingDir || '/', dir);
      return;
    }
    case 'USER':
      rc.User = word(ins.args, vars, escapeChar);
      return;
    case 'EXPOSE': {
      const ports = { ...(rc.ExposedPorts ?? {}) };
      for (const p of words(ins.args, vars, escapeChar)) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m) throw new BoxError(`EXPOSE ${p}: expected PORT[/tcp|udp|sctp], e.g. 8080/tcp`);
        const last = Number(m[2] ?? m[1]);
        for (let n = Number(m[1]); n <= last; n++) ports[`${n}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
      }
      rc.ExposedPorts = ports;
      return;
    }
    case 'VOLUME': {
      const list = ins.json ?? words(ins.args, vars, escapeChar);
      if (list.some((v) => v === '')) throw new BoxError('VOLUME: a path is empty: give absolute paths');
      rc.Volumes = { ...(rc.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v, {}])) };
      return;
    }
    case 'CMD':
      rc.Cmd = commandOf(ins.json, ins.args, stage.shell);
      stage.cmdSet = true;
      return;
    case 'ENTRYPOINT':
      rc.Entrypoint = commandOf(ins.json, ins.args, stage.shell);
      if (!stage.cmdSet) rc.Cmd = null; // a new entrypoint drops the base image's CMD, as in Docker
      return;
    case 'STOPSIGNAL':
      rc.StopSignal = checkSignalName(word(ins.args, vars, escapeChar), 'STOPSIGNAL');
      return;
    case 'SHELL':
      if (!ins.json?.length) throw new BoxError('SHELL needs the JSON form: SHELL ["/bin/sh", "-c"]');
      stage.shell = ins.json;
      return;
    case 'HEALTHCHECK':
      rc.Healthcheck = healthcheck(ins);
      return;
    case 'ONBUILD': {
      const trigger = onBuildTrigger(ins.args);
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(trigger.keyword))
        throw new BoxError(`ONBUILD ${trigger.keyword} is not allowed: a trigger is any other instruction`);
      rc.OnBuild = [...(rc.OnBuild ?? []), ins.args];
      return;
    }
    case 'MAINTAINER':
      return; // deprecated: history only
  }
  throw new BoxError(`${ins.keyword} is not a config instruction`);
}

function healthcheck(ins: Instruction): NonNullable<ImageRuntimeConfig['Healthcheck']> {
  if (/^none$/i.test(ins.args.trim())) return { Test: ['NONE'] };
  const m = /^CMD\s+(.*)$/is.exec(ins.args.trim());
  if (!m) throw new BoxError('HEALTHCHECK: expected HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE');
  const rest = m[1].trim();
  let json: string[] | undefined;
  if (rest.startsWith('[')) {
    try {
      json = JSON.parse(rest) as string[];
    } catch {
      json = undefined;
    }
  }
  const test = json ? ['CMD', ...json] : ['CMD-SHELL', rest];
  const f = ins.flags;
  const dur = (k: string) => (f[k] !== undefined ? parseDurationNs(`HEALTHCHECK --${k}`, f[k]) : undefined);
  const out: NonNullable<ImageRuntimeConfig['Healthcheck']> = { Test: test };
  const interval = dur('interval');
  const timeout = dur('timeout');
  const start = dur('start-period');
  const startInterval = dur('start-interval');
  if (interval !== undefined) out.Interval = interval;
  if (timeout !== undefined) out.Timeout = timeout;
  if (start !== undefined) out.StartPeriod = start;
  if (startInterval !== undefined) out.StartInterval = startInterval;
  if (f.retries !== undefined) out.Retries = parseNonNegativeInt('HEALTHCHECK --retries', f.retries);
  return out;
}

/** An ONBUILD trigger's text read as the instruction it is. */
export function onBuildTrigger(text: string): Instruction {
  try {
    return parseDockerfile(`FROM scratch\n${text}\n`, 'ONBUILD').instructions[1];
  } catch (err) {
    if (!(err instanceof BoxError)) throw err;
    throw new BoxError(`ONBUILD ${text}: ${err.message.replace(/^ONBUILD:\d+: /, '')}`);
  }
}
