// runc's command-line grammar (Go's flag package under urfave/cli): `-flag` or `--flag`, a value
// as `--flag value` or `--flag=value`, a boolean as `--flag` or `--flag=true|false`; flags come
// before the positional arguments. Each command declares its flags as data (commands.ts).
import { BoxError } from '../../errors';

export interface OciFlag {
  names: string[];
  /** takes a value (else a boolean) */
  value?: boolean;
  /** may be given again: its values are collected in order */
  repeat?: boolean;
  /** accepted but refused when given (true, or a value): why */
  refused?: string;
}

export type OciFlagValues = Record<string, string | boolean | string[]>;

/** Parses flags off the front of argv; returns them by first name (without dashes) and the rest. */
export function parseOciFlags(
  argv: string[],
  table: readonly OciFlag[],
  where: string,
): { flags: OciFlagValues; rest: string[] } {
  const flags: OciFlagValues = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const name = a.slice(a.startsWith('--') ? 2 : 1, eq > 0 ? eq : undefined);
    const flag = table.find((f) => f.names.includes(name));
    if (!flag) throw new BoxError(`${where}: flag provided but not defined: -${name}`);
    const key = flag.names[0];
    let value: string | boolean;
    if (flag.value) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new BoxError(`${where}: flag needs an argument: -${name}`);
      value = v;
    } else if (eq > 0) {
      const v = a.slice(eq + 1);
      if (v !== 'true' && v !== 'false')
        throw new BoxError(`${where}: invalid boolean value ${JSON.stringify(v)} for -${name}`);
      value = v === 'true';
    } else value = true;
    if (flag.refused && value !== false) throw new BoxError(`${where}: --${key}: ${flag.refused}`);
    if (flag.repeat) flags[key] = [...((flags[key] as string[] | undefined) ?? []), String(value)];
    else flags[key] = value;
  }
  return { flags, rest: argv.slice(i) };
}
