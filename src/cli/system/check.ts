// `box system check [--fix] [--format json]`: lists what box made and no record accounts for
// (mounts, cgroups, processes, veths and bridges, nftables rules, addresses, DNS names, runtime
// directories, store files), one line each: kind, object, why it is a leftover. Exit 0 when there
// is none, 1 when there are (with --fix: when one could not be removed).
import { runCheck, CheckResult } from '../../runtime/check';
import { BoxError } from '../../errors';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { printable } from '../../util/printable';

/** The exit code when leftovers are found (or, with --fix, when one could not be removed). */
export const LEFTOVERS_FOUND = 1;

function line(r: CheckResult): string {
  const what = `${r.kind} ${printable(r.object)}: ${printable(r.reason)}`;
  if (r.fixed === undefined) return what;
  return r.fixed ? `fixed ${what}` : `not fixed ${what} (${printable(r.error ?? '')})`;
}

/** The documented fields only (a finding's detail is what --fix needs, not an interface). */
function json({ kind, object, reason, fixed, error }: CheckResult): string {
  return JSON.stringify({ kind, object, reason, fixed, error });
}

export const systemCheckCommand: CommandSpec = {
  paths: [['system', 'check']],
  summary:
    'List the kernel objects and files box made that no container, network or volume accounts for ' +
    '(exit 0: none, 1: some found).',
  flags: [
    { names: ['--fix'], key: 'fix', kind: 'bool', description: 'remove them (exit 1 if one could not be removed)' },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: 'json: one object per finding and line (kind, object, reason, fixed, error)',
    },
  ],
  positionals: [],
  examples: ['box system check', 'box system check --fix', 'box system check --format json'],
  async run(a) {
    const format = str(a, 'format');
    if (format !== undefined && format !== 'json' && format !== 'table') {
      throw new BoxError(`--format ${format}: box system check prints table (the default) or json`);
    }
    const fix = bool(a, 'fix');
    const results = await runCheck(roots(), fix);
    const text = format === 'json' ? json : line;
    process.stdout.write(results.map((r) => text(r) + '\n').join(''));
    const failed = fix ? results.some((r) => !r.fixed) : results.length > 0;
    return failed ? LEFTOVERS_FOUND : 0;
  },
};
