// Docker's json-file log options (`--log-opt max-size=10m --log-opt max-file=3`), shared by
// `run -d`, `create` and compose services' `logging.options`.
import { BoxError } from '../errors';
import { parseBytes, parseNonNegativeInt } from '../util/units';
import type { LogOptions } from './detach';

/** Docker's json-file options: max-size (default unlimited) and max-file (default 1). */
export function parseLogOpts(opts: string[]): LogOptions {
  const out: LogOptions = { maxSize: 0, maxFile: 1 };
  for (const o of opts) {
    const [k, v] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (k === 'max-size') out.maxSize = parseBytes('--log-opt max-size', v);
    else if (k === 'max-file') out.maxFile = Math.max(1, parseNonNegativeInt('--log-opt max-file', v));
    else throw new BoxError(`invalid --log-opt "${o}": box supports max-size=SIZE and max-file=N`);
  }
  return out;
}
