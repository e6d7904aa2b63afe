// A small command-line parser with Docker's conventions (--flag value, --flag=value, -m value,
// combined short booleans like -it, repeatable list flags, `--` to end flags). It replaces a
// general-purpose CLI framework on purpose: box's start-up is on the hot path of every container
// start, and building a framework's parser for every command cost more than our whole latency
// budget. Commands are declared as data, so help and parsing come from the same table.
import { BoxError } from '../errors';
import { FlagSpec, ParsedFlags } from '../util/flag-table';

export type { FlagKind, FlagSpec } from '../util/flag-table';

export interface PositionalSpec {
  name: string;
  optional?: boolean;
  /** collects every remaining argument */
  rest?: boolean;
}

export interface ParsedArgs {
  flags: ParsedFlags;
  positionals: string[];
  /** arguments after the positionals of a command that stops at its first positionals (run) */
  rest: string[];
}

export interface CommandSpec {
  /** e.g. [['run'], ['container', 'run']] */
  paths: string[][];
  summary: string;
  flags: readonly FlagSpec[];
  positionals: PositionalSpec[];
  /** stop parsing flags after the last positional: the rest belongs to the container's command */
  stopAfterPositionals?: boolean;
  examples?: string[];
  run(args: ParsedArgs): Promise<number>;
}

export const HELP_FLAG: FlagSpec = { names: ['--help'], key: 'help', kind: 'bool', description: 'show this help' };

export function parseArgs(spec: CommandSpec, argv: string[], commandName: string): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const byName = new Map<string, FlagSpec>();
  for (const f of [...spec.flags, HELP_FLAG]) for (const n of f.names) byName.set(n, f);
  const positionals: string[] = [];
  const fixed = spec.positionals.filter((p) => !p.rest).length;
  const hasRest = spec.positionals.some((p) => p.rest);
  const seeHelp = `(see 'box ${commandName} --help')`;
  const set = (f: FlagSpec, value: string | boolean, shown: string) => {
    if (f.kind === 'list') {
      if (typeof value !== 'string') throw new BoxError(`flag ${shown} needs a value ${seeHelp}`);
      flags[f.key] = [...((flags[f.key] as string[] | undefined) ?? []), value];
    } else if (f.kind === 'bool') {
      if (typeof value === 'string') {
        if (value !== 'true' && value !== 'false')
          throw new BoxError(`invalid value "${value}" for ${shown}: use true or false`);
        flags[f.key] = value === 'true';
      } else flags[f.key] = value;
    } else {
      if (typeof value !== 'string') throw new BoxError(`flag ${shown} needs a value ${seeHelp}`);
      flags[f.key] = value;
    }
  };

  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (spec.stopAfterPositionals && positionals.length >= fixed && fixed > 0) break;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      const f = byName.get(name);
      if (!f) throw new BoxError(`unknown flag: ${name} ${seeHelp}`);
      if (eq > 0) set(f, a.slice(eq + 1), name);
      else if (f.kind === 'bool') set(f, true, name);
      else {
        if (i + 1 >= argv.length) throw new BoxError(`flag ${name} needs a value ${seeHelp}`);
        set(f, argv[++i], name);
      }
    } else if (a.startsWith('-') && a.length > 1) {
      // -it, -e K=V, -eK=V, -m=256m
      for (let j = 1; j < a.length; j++) {
        const name = `-${a[j]}`;
        const f = byName.get(name);
        if (!f) throw new BoxError(`unknown shorthand flag: '${a[j]}' in ${a} ${seeHelp}`);
        if (f.kind === 'bool') {
          set(f, true, name);
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        if (value === '') {
          if (i + 1 >= argv.length) throw new BoxError(`flag ${name} needs a value ${seeHelp}`);
          value = argv[++i];
        }
        set(f, value, name);
        break;
      }
    } else {
      positionals.push(a);
    }
  }
  const rest = argv.slice(i);
  if (flags.help) return { flags, positionals, rest };
  if (!hasRest && !spec.stopAfterPositionals && positionals.length > fixed) {
    throw new BoxError(`"box ${commandName}" takes at most ${fixed} argument${fixed === 1 ? '' : 's'} ${seeHelp}`);
  }
  const required = spec.positionals.filter((p) => !p.optional && !p.rest).length;
  if (positionals.length < required) {
    const missing = spec.positionals[positionals.length];
    throw new BoxError(`"box ${commandName}" needs ${missing.name} ${seeHelp}`);
  }
  if (hasRest && spec.positionals.find((p) => p.rest && !p.optional) && positionals.length <= fixed) {
    throw new BoxError(
      `"box ${commandName}" needs at least one ${spec.positionals.find((p) => p.rest)!.name} ${seeHelp}`,
    );
  }
  return { flags, positionals, rest };
}

export function usageLine(spec: CommandSpec): string {
  const pos = spec.positionals.map((p) => (p.rest ? `${p.name}...` : p.optional ? `[${p.name}]` : p.name)).join(' ');
  const options = spec.flags.length ? ' [OPTIONS]' : '';
  const command = spec.stopAfterPositionals ? ' [COMMAND] [ARG...]' : '';
  return `box ${spec.paths[0].join(' ')}${options}${pos ? ' ' + pos : ''}${command}`;
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage:  ${usageLine(spec)}`, '', spec.summary];
  if (spec.paths.length > 1) lines.push('', `Aliases: ${spec.paths.map((p) => 'box ' + p.join(' ')).join(', ')}`);
  const flags = [...spec.flags, HELP_FLAG].filter((f) => !f.hidden);
  if (flags.length) {
    lines.push('', 'Options:');
    const cells = flags.map((f) => {
      const short = f.names.find((n) => /^-[^-]$/.test(n));
      const long = f.names.find((n) => n.startsWith('--'))!;
      const left = `${short ? short + ', ' : '    '}${long}${f.kind === 'bool' ? '' : ' ' + (f.value ?? 'string')}${f.kind === 'list' ? ' (repeatable)' : ''}`;
      return [left, f.description];
    });
    const w = Math.max(...cells.map((c) => c[0].length));
    for (const [l, d] of cells) lines.push(`  ${l.padEnd(w)}   ${d}`);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

// Typed accessors for command implementations.
export const str = (a: ParsedArgs, key: string): string | undefined => a.flags[key] as string | undefined;
export const bool = (a: ParsedArgs, key: string): boolean => a.flags[key] === true;
export const list = (a: ParsedArgs, key: string): string[] => (a.flags[key] as string[] | undefined) ?? [];
