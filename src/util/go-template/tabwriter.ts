// Go's text/tabwriter as Docker's tables use it (minwidth 10, tabwidth 1, padding 3, padded with
// spaces, left-aligned): tab-terminated cells line up in columns; the text after a line's last tab
// is not part of any column. A column is a run of consecutive lines that have a cell in it, so a
// line with fewer cells ends the columns it lacks, exactly as Go aligns them.

export interface TabOptions {
  minWidth: number;
  padding: number;
}

export const DOCKER_TABS: TabOptions = { minWidth: 10, padding: 3 };

const width = (s: string) => [...s].length;

export function tabwrite(text: string, opts: TabOptions = DOCKER_TABS): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      cells.forEach((c, j) => {
        out += j < widths.length && j < cells.length - 1 ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c;
      });
      if (i < lines.length - 1) out += '\n';
    }
  };

  // Go's recursive formatting: find the next block of lines that have a cell in this column,
  // size the column over that block, then format the block's further columns.
  const format = (from: number, to: number) => {
    const column = widths.length;
    let line0 = from;
    for (let i = from; i < to; i++) {
      if (column >= lines[i].length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = opts.minWidth;
      for (; i < to && column < lines[i].length - 1; i++) w = Math.max(w, width(lines[i][column]) + opts.padding);
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, to);
  };

  format(0, lines.length);
  return out;
}
