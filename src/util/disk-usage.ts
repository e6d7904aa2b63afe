// The space a directory tree takes, as Docker reports a container's writable layer: the sizes of
// its files (each hard link counted once), without following symbolic links.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function diskUsage(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // gone meanwhile, or never there
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(p);
      } catch {
        return;
      }
      for (const n of names) walk(path.join(p, n));
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && seen.has(key)) return;
    seen.add(key);
    total += st.size;
  };
  walk(dir);
  return total;
}
