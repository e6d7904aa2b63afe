// The helper's op table is written three times: for the helper (native/spec.c), for box
// (src/runtime/ops.ts) and for readers (native/PROTOCOL.md). This test parses the C table and the
// document's op tables and compares both with the TypeScript one: names, argument counts, single
// use, and whether `run` and `exec` take the op.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argCount, OPS } from '../../src/runtime/ops';
import { REPO } from '../support/box';

interface Parsed {
  args?: [number, number];
  kind?: string;
  single?: boolean;
  modes: string[];
}

const tsTable = Object.fromEntries(
  Object.entries(OPS).map(([name, d]) => [
    name,
    { args: argCount(d.args), kind: d.kind, single: d.single, modes: [...d.modes].sort() },
  ]),
);

/** `{ "name", "types", OP_KIND, single, M_RUN | M_EXEC },` lines of spec.c's OPS[]. */
function cTable(src: string): Record<string, Parsed> {
  const body = src.slice(src.indexOf('static const struct opdef OPS[]'));
  const table = body.slice(0, body.indexOf('};'));
  const out: Record<string, Parsed> = {};
  for (const m of table.matchAll(/\{ "([^"]+)", "([^"]*)", OP_(HOST|STEP|ATTR), ([01]), ([A-Z_| ]+) \}/g)) {
    const modes = m[5].split('|').map((s) => s.trim().replace(/^M_/, '').toLowerCase());
    out[m[1]] = { args: argCount(m[2]), kind: m[3].toLowerCase(), single: m[4] === '1', modes: modes.sort() };
  }
  return out;
}

/**
 * The op tables of PROTOCOL.md (header `| op | args | meaning |`): rows whose first cell names ops
 * in backquotes. Arguments are
 * words; `[X...]` is any number of them. Ops in the tables of the `box-helper exec` section are
 * valid for exec, the others for run.
 */
function docTable(doc: string): Record<string, Parsed> {
  const out: Record<string, Parsed> = {};
  let section = '';
  let opTable = false; // inside a table whose header is `| op | args | meaning |`
  for (const line of doc.split('\n')) {
    if (line.startsWith('## ')) section = line;
    if (!line.startsWith('|')) opTable = false;
    else if (/^\| op \| args \|/.test(line)) opTable = true;
    const row = /^\| (`[^|]+?) *\| *([^|]*?) *\|/.exec(line);
    if (!row || !opTable) continue;
    const mode = section.includes('box-helper exec') ? 'exec' : 'run';
    const names = [...row[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    const words = row[2].trim() ? row[2].trim().split(/\s+/) : [];
    const fixed = words.filter((w) => !w.startsWith('[')).length;
    const args: [number, number] = [fixed, words.some((w) => w.endsWith('...]')) ? Infinity : fixed];
    for (const name of names) {
      const p = (out[name] ??= { modes: [] });
      if (!p.modes.includes(mode)) p.modes.push(mode);
      p.modes.sort();
      // a row naming several ops says "as for run": its arguments are in the run tables
      if (names.length === 1) p.args = args;
    }
  }
  return out;
}

describe('the helper op table', () => {
  const c = cTable(fs.readFileSync(path.join(REPO, 'native', 'spec.c'), 'utf8'));
  const doc = fs.readFileSync(path.join(REPO, 'native', 'PROTOCOL.md'), 'utf8');

  it('native/spec.c has the same ops as src/runtime/ops.ts', () => {
    expect(Object.keys(c).sort()).toEqual(Object.keys(tsTable).sort());
    expect(c).toEqual(tsTable);
  });

  it("PROTOCOL.md's op tables have the same ops, argument counts and run/exec validity", () => {
    const d = docTable(doc);
    expect(Object.keys(d).sort()).toEqual(Object.keys(tsTable).sort());
    for (const [name, t] of Object.entries(tsTable)) {
      expect({ name, args: d[name].args, modes: d[name].modes }).toEqual({ name, args: t.args, modes: t.modes });
    }
  });

  it("PROTOCOL.md's list of single-use ops is the table's", () => {
    const m = /a second copy of a single-use op \(`([^`]+)`\)/.exec(doc.replace(/\n/g, ' '));
    expect(m, 'the single-use list in "Spec encoding"').not.toBeNull();
    const singles = Object.keys(OPS).filter((n) => OPS[n as keyof typeof OPS].single);
    expect(m![1].split(/\s+/).sort()).toEqual(singles.sort());
  });
});
