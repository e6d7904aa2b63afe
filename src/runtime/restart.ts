// Restart policies with Docker's rule: the delay starts at 100 ms and doubles up to 1 minute, and
// goes back to the start once the container ran for 10 s; on-failure:N gives up after N restarts;
// a container stopped by the user is not restarted. Base, cap and reset are configurable
// (--restart-delay). The count, the delay and when the next attempt is due live in the
// container's record, so a crashed monitor or back-off does not reset it (lifecycle.ts resumes it).
import { BoxError } from '../errors';
import { parseDuration } from '../util/units';
import { ContainerRecord, RestartName, RestartPolicy } from '../model';

export const NO_RESTART: RestartPolicy = { name: 'no', maxRetries: 0, baseMs: 100, maxMs: 60_000, resetMs: 10_000 };

export function parseRestart(value: string | undefined, delay: string | undefined): RestartPolicy {
  const policy = { ...NO_RESTART };
  if (value !== undefined) {
    const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
    if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
      throw new BoxError(`invalid --restart "${value}": use no, always, unless-stopped or on-failure[:MAX-RETRIES]`);
    }
    policy.name = m[1] as RestartName;
    policy.maxRetries = m[2] === undefined ? 0 : Number(m[2]);
  }
  if (delay !== undefined) {
    const parts = delay.split(',');
    if (parts.length > 3)
      throw new BoxError(`invalid --restart-delay "${delay}": use BASE[,MAX[,RESET]], e.g. 100ms,1m,10s`);
    const [base, max, reset] = parts.map((p) => parseDuration('--restart-delay', p));
    policy.baseMs = base;
    if (max !== undefined) policy.maxMs = max;
    if (reset !== undefined) policy.resetMs = reset;
    if (policy.maxMs < policy.baseMs)
      throw new BoxError(`invalid --restart-delay "${delay}": the maximum is below the first delay`);
  }
  return policy;
}

export interface RestartDecision {
  restart: boolean;
  delayMs: number;
}

/** Whether and when to restart a container that just ended, from its record (already exited). */
export function decideRestart(c: ContainerRecord): RestartDecision {
  const p = c.config.restart ?? NO_RESTART;
  const st = c.state;
  const no = { restart: false, delayMs: 0 };
  if (p.name === 'no' || st.stoppedByUser || c.autoRemove) return no;
  if (p.name === 'on-failure' && (st.exitCode ?? 0) === 0) return no;
  const count = st.restartCount ?? 0;
  if (p.name === 'on-failure' && p.maxRetries > 0 && count >= p.maxRetries) return no;
  const ran = st.startedAt && st.finishedAt ? Date.parse(st.finishedAt) - Date.parse(st.startedAt) : 0;
  const previous = st.restartDelayMs;
  const delayMs = previous === undefined || ran >= p.resetMs ? p.baseMs : Math.min(previous * 2, p.maxMs);
  return { restart: true, delayMs };
}
