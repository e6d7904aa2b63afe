// Docker's --format: `json` (one JSON object per line), `table` (the command's own table),
// `table TEMPLATE` (a Go template whose cells line up under a header row) or a Go template run
// once per item. Template errors are one line, `template parsing error: ...` in Go's words: the line
// (and when running, the column and action), with exit code 1 as Docker's CLI gives.
import { BoxError } from '../errors';
import { DOCKER_FUNCS, FUNC_NAMES, goJson, HEADER_FUNCS } from '../util/go-template/docker';
import { BUILTINS, execute } from '../util/go-template/exec';
import { GoStruct, STRUCT } from '../util/go-template/fmt';
import { parse, Parsed, TemplateError } from '../util/go-template/parse';
import { tabwrite } from '../util/go-template/tabwriter';
import { printableJson, printableLines } from '../util/printable';

/** Docker's exit code for a template error (its CLI's general error). */
export const TEMPLATE_ERROR_EXIT = 1;

const NAMES: ReadonlySet<string> = new Set([...Object.keys(BUILTINS), ...FUNC_NAMES]);

/** `obj` as a Go struct named `type`: templates may read only its fields (a typo is an error). */
export function goStruct<T extends object>(type: string, obj: T): T & GoStruct {
  return Object.assign(obj, { [STRUCT]: type }) as T & GoStruct;
}

/** The fields of a struct, for the hint after an unknown one. */
function fieldList(row: object | undefined): string {
  if (!row) return '';
  return Object.keys(row)
    .filter((k) => k !== 'toJSON')
    .map((k) => `.${k}`)
    .join(' ');
}

function templateError(e: unknown, row?: object): never {
  if (!(e instanceof TemplateError)) throw e;
  // the hint names the row's fields when the unknown one was asked of the row itself
  const type = row ? (row as GoStruct)[STRUCT] : undefined;
  const fields = type && e.message.endsWith(`in type ${type}`) ? ` (its fields: ${fieldList(row)})` : '';
  throw new BoxError(`template parsing error: ${e.message}${fields}`, TEMPLATE_ERROR_EXIT);
}

// What actions print is escaped but for newlines and tabs, which templates make on purpose (a label
// cannot clear the screen or move the cursor); {{json}} escapes as JSON does, so it stays exact.
const ROW_FUNCS = { ...DOCKER_FUNCS, json: (v: unknown) => printableJson(goJson(v)) };

export interface OutputFormat {
  /** a `table` format: a header row, then cells aligned with Docker's tab writer */
  table: boolean;
  /** the rows' text (with the header row for a table) */
  render(rows: object[], header?: object): string;
}

/**
 * Compiles a --format value: `json` becomes `{{json .}}`, `table` the command's default table
 * (`defaultTable`, itself `table ...`), and `\t`, `\n` written out become tab and newline.
 */
export function outputFormat(format: string, defaultTable?: string): OutputFormat {
  let text = format === 'json' ? '{{json .}}' : format === 'table' && defaultTable ? defaultTable : format;
  const table = text.startsWith('table');
  if (table) text = text.slice('table'.length);
  text = text.trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  let parsed: Parsed;
  try {
    parsed = parse(text, NAMES);
  } catch (e) {
    templateError(e);
  }
  const run = (row: object, funcs: typeof DOCKER_FUNCS, printed?: (s: string) => string) => {
    try {
      return execute(parsed, row, { funcs, printed });
    } catch (e) {
      return templateError(e, row);
    }
  };
  return {
    table,
    render(rows, header) {
      const body = rows.map((r) => run(r, ROW_FUNCS, printableLines) + '\n').join('');
      if (!table) return body;
      const head = header ? run(header, HEADER_FUNCS) : '';
      return tabwrite(`${head}\n${body}`);
    },
  };
}

/** A header row for `table` formats: each field's column title; methods (.Label "k") give theirs. */
export function headerRow(type: string, titles: Record<string, string>): object {
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(titles)) row[k] = k.endsWith('()') ? () => v : v;
  return goStruct(type, Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/\(\)$/, ''), v])));
}
