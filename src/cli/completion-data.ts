// What `box completion` scripts complete, derived from the command table: the command words, each
// command's flags, and which names (containers, images, volumes, networks) its arguments take.
import { CommandSpec } from './args';

export type NameKind = 'containers' | 'images' | 'volumes' | 'networks';

export interface CompletedCommand {
  /** "rm", "container rm" */
  key: string;
  flags: string[];
  /** flags followed by a value (whose word is not completed with names) */
  valueFlags: string[];
  kinds: NameKind[];
}

/** The names a positional argument takes, from its name in the command's help. */
export function kindsOf(positional: string): NameKind[] {
  if (positional === 'NAME|ID') return ['containers', 'images'];
  if (/^CONTAINER/.test(positional)) return ['containers'];
  if (/^(IMAGE|REPOSITORY|SOURCE_IMAGE)/.test(positional)) return ['images'];
  if (/^VOLUME/.test(positional)) return ['volumes'];
  if (/^NETWORK/.test(positional)) return ['networks'];
  return [];
}

export interface CompletionData {
  top: string[];
  groups: Record<string, string[]>;
  commands: CompletedCommand[];
}

export function completionData(entries: { paths: string[][]; spec: CommandSpec }[]): CompletionData {
  const top = new Set<string>();
  const groups: Record<string, string[]> = {};
  const commands: CompletedCommand[] = [];
  for (const { paths, spec } of entries) {
    const visible = spec.flags.filter((f) => !f.hidden);
    const flags = [...visible.flatMap((f) => f.names), '--help'];
    const valueFlags = visible.filter((f) => f.kind !== 'bool').flatMap((f) => f.names);
    const kinds = [...new Set(spec.positionals.flatMap((p) => kindsOf(p.name)))];
    for (const p of paths) {
      top.add(p[0]);
      if (p.length === 2) groups[p[0]] = [...(groups[p[0]] ?? []), p[1]];
      commands.push({ key: p.join(' '), flags, valueFlags, kinds });
    }
  }
  return { top: [...top].sort(), groups, commands };
}
