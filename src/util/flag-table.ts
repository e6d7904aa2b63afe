// Command-line flags declared as data, and the type of what a table of them parses to. A table
// written `as const` feeds the parser and the help (cli/args.ts) and, through FlagValues, types
// the object a command hands down (runtime/run-flags.ts): a new flag is one entry in its table.

export type FlagKind = 'bool' | 'string' | 'list';

export interface FlagSpec<Key extends string = string> {
  /** long name first, e.g. ['--memory', '-m'] */
  names: readonly string[];
  key: Key;
  kind: FlagKind;
  description: string;
  /** shown in help, e.g. "bytes" */
  value?: string;
  hidden?: boolean;
}

/** The flags as the parser leaves them: only those given are set. */
export type ParsedFlags = Record<string, boolean | string | string[] | undefined>;

type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * The values of a table's flags by key: a bool is false and a list empty when not given, a string
 * is absent. Needs the table's keys and kinds as literal types (`as const`).
 */
export type FlagValues<Table extends readonly FlagSpec[]> = Flatten<
  {
    [F in Table[number] as F['kind'] extends 'string' ? never : F['key']]: F['kind'] extends 'bool'
      ? boolean
      : string[];
  } & { [F in Table[number] as F['kind'] extends 'string' ? F['key'] : never]?: string }
>;

/** Every flag of the table from what the parser found, with FlagValues' defaults for the others. */
export function flagValues<Table extends readonly FlagSpec[]>(table: Table, parsed: ParsedFlags): FlagValues<Table> {
  const values: ParsedFlags = {};
  for (const { key, kind } of table) {
    const given = parsed[key];
    if (kind === 'bool') values[key] = given === true;
    else if (kind === 'list') values[key] = Array.isArray(given) ? given : [];
    else if (typeof given === 'string') values[key] = given;
  }
  return values as FlagValues<Table>;
}
