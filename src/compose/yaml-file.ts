// One compose file's YAML: parsed with anchors, merge keys (`<<`) and the `!reset`/`!override`
// tags, and the line of every key kept, so that an error in the file can name its line and key.
import * as YAML from 'yaml';
import { BoxError } from '../errors';
import { Override, Reset } from './tags';

export interface YamlFile {
  /** the name errors show (the path as given, or "stdin") */
  name: string;
  value: Record<string, unknown>;
  /** the line (1-based) of a key by its dotted path ("services.web.image"), if the file has it */
  lineOf(path: string): number | undefined;
}

const reset = () => new Reset();
const override = (node: unknown) => new Override((node as YAML.Node).toJSON());
const TAGS: YAML.Tags = [
  { tag: '!reset', resolve: reset },
  { tag: '!reset', collection: 'seq', resolve: reset },
  { tag: '!reset', collection: 'map', resolve: reset },
  { tag: '!override', resolve: (s: string) => new Override(s) },
  { tag: '!override', collection: 'seq', resolve: override },
  { tag: '!override', collection: 'map', resolve: override },
] as YAML.Tags;

export function parseYamlFile(text: string, name: string): YamlFile {
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { customTags: TAGS, merge: true, lineCounter: lines, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const at = problem.linePos?.[0];
    const what = problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new BoxError(`${name}${at ? `:${at.line}` : ''}: invalid YAML: ${what}`);
  }
  const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (value === null || value === undefined) throw new BoxError(`${name}: the file is empty: give it a services: key`);
  if (typeof value !== 'object' || Array.isArray(value))
    throw new BoxError(`${name}:1: a compose file must be a mapping of top-level keys (services:, networks:, ...)`);
  const keyLines = new Map<string, number>();
  const walk = (node: unknown, path: string) => {
    if (!YAML.isMap(node)) return;
    for (const pair of node.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const p = path ? `${path}.${key}` : key;
      const start = (pair.key as YAML.Scalar).range?.[0];
      if (start !== undefined && !keyLines.has(p)) keyLines.set(p, lines.linePos(start).line);
      walk(pair.value, p);
    }
  };
  walk(doc.contents, '');
  return { name, value: value as Record<string, unknown>, lineOf: (p) => keyLines.get(p) };
}
