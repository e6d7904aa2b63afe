// The admission flags of run/create (--policy-arg, --policy-timeout, --policy-failure) parsed and
// checked. Kept apart from the engine so that a start checks them, policies or not, without
// loading the policy code.
import { BoxError } from '../errors';
import { parseDuration } from '../util/units';
import type { Pair } from './types';

export const DEFAULT_TIMEOUT_MS = 250;

export type FailureMode = 'deny' | 'ignore';

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
  if (!(ms >= 1 && ms <= 60_000))
    throw new BoxError(`invalid --policy-timeout "${value}": give a duration between 1ms and 60s (e.g. 250ms)`);
  return ms;
}

export function parseFailureMode(value: string | undefined): FailureMode {
  if (value === undefined || value === 'deny') return 'deny';
  if (value === 'ignore') return 'ignore';
  throw new BoxError(
    `invalid --policy-failure "${value}": use deny (the default: a failing policy refuses the start) or ignore`,
  );
}
