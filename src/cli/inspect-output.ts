// How every inspect command prints what it found: Docker's indented JSON array, or with
// -f/--format a Go template run once per object (`json`: the array on one line).
import { printableJson } from '../util/printable';
import { FlagSpec } from './args';
import { outputFormat } from './template';

export const INSPECT_FORMAT_FLAG: FlagSpec = {
  names: ['--format', '-f'],
  key: 'format',
  kind: 'string',
  value: 'string',
  description: "a Go template ('{{.State.Status}}', '{{json .Config}}'), or json",
};

export function inspectText(objects: object[], format: string | undefined): string {
  if (format === undefined) return printableJson(JSON.stringify(objects, null, 4)) + '\n';
  if (format === 'json') return printableJson(JSON.stringify(objects)) + '\n';
  return outputFormat(format).render(objects);
}
