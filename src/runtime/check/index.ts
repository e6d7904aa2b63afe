// `box system check [--fix]` below the command line: every checker's findings, and with --fix each
// removed, in an order where what holds an object goes before it (processes hold cgroups and
// network namespaces, whose veths go with them; records and locks are looked at last).
import type { Roots } from '../../paths';
import { addressChecker } from './addresses';
import { buildStepChecker } from './build-steps';
import { cgroupChecker } from './cgroups';
import { containerChecker } from './containers';
import { CheckContext } from './context';
import { dnsChecker } from './dns';
import { linkChecker } from './links';
import { mountChecker } from './mounts';
import { nftablesChecker } from './nftables';
import { processChecker } from './processes';
import { runtimeDirChecker } from './runtime-dirs';
import { storeChecker } from './store-files';
import { Checker, Finding } from './types';

export type { Finding } from './types';

export const CHECKERS: Checker[] = [
  containerChecker,
  processChecker,
  cgroupChecker,
  mountChecker,
  linkChecker,
  addressChecker,
  dnsChecker,
  nftablesChecker,
  buildStepChecker,
  runtimeDirChecker,
  storeChecker,
];

export interface CheckResult extends Finding {
  /** with --fix: whether it was removed, or why not */
  fixed?: boolean;
  error?: string;
}

/** How many times --fix looks again: settling a container can make another leftover (its build step stopped). */
const FIX_ROUNDS = 3;

export async function runCheck(roots: Roots, fix: boolean): Promise<CheckResult[]> {
  if (!fix) return (await findAll(new CheckContext(roots))).map((f) => f.finding);
  const out: CheckResult[] = [];
  const failed = new Set<string>();
  for (let round = 0; round < FIX_ROUNDS; round++) {
    const found = (await findAll(new CheckContext(roots))).filter((f) => !failed.has(keyOf(f.finding)));
    if (!found.length) break;
    for (const { checker, finding } of found) {
      const earlier = out.find((r) => r.fixed && keyOf(r) === keyOf(finding));
      if (earlier) {
        // removed once and found again: say so rather than remove it for ever
        Object.assign(earlier, { fixed: false, error: 'still there after it was removed' });
        failed.add(keyOf(finding));
        continue;
      }
      try {
        await checker.fix(new CheckContext(roots), finding);
        out.push({ ...finding, fixed: true });
      } catch (err) {
        failed.add(keyOf(finding));
        out.push({ ...finding, fixed: false, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}

const keyOf = (f: Finding) => `${f.kind} ${f.object}`;

/** Every checker's findings, in CHECKERS' order. */
async function findAll(ctx: CheckContext): Promise<{ checker: Checker; finding: Finding }[]> {
  // side by side: each checker's bounded settle (context.ts persisting) is waited out once, not once per kind
  const perChecker = await Promise.all(CHECKERS.map((checker) => checker.find(ctx)));
  return CHECKERS.flatMap((checker, i) => perChecker[i].map((finding) => ({ checker, finding })));
}
