// What the container commands share: the store, looking containers up, and running one action per
// container with each failure reported (exit 125 if any failed).
import { BoxError } from '../../errors';
import { ContainerStore } from '../../runtime/containers';
import { find, refresh } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { Roots } from '../../paths';
import { parseNonNegativeInt } from '../../util/units';
import { FlagSpec, ParsedArgs, str } from '../args';
import { roots } from '../context';

export const store = () => new ContainerStore(roots());

export const lookup = (s: ContainerStore, query: string): ContainerRecord => find(s, query);

export async function running(r: Roots, s: ContainerStore, query: string): Promise<ContainerRecord> {
  const c = await refresh(r, s, lookup(s, query));
  if (c.state.status !== 'running' || !c.state.pid) throw new BoxError(`container ${query} is not running`);
  return c;
}

/** Runs fn for each container; reports each failure on stderr and exits 125 if any failed. */
export async function each(queries: string[], fn: (q: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const q of queries) {
    try {
      await fn(q);
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      process.stderr.write(`box: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 125 : 0;
}

/** `-t`/`--time` of stop and restart: seconds between the stop signal and SIGKILL. */
export const STOP_TIME_FLAG: FlagSpec = {
  names: ['--time', '-t'],
  key: 'time',
  kind: 'string',
  value: 'seconds',
  description: 'seconds to wait before killing (default 10)',
};

export function stopTimeout(a: ParsedArgs): number {
  const t = str(a, 'time');
  return t === undefined ? 10 : parseNonNegativeInt('--time', t);
}
