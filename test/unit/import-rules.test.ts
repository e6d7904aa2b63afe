// The import rules of src/ (issue 9): no import cycles, and layers that point one way.
//   - src/linux/ and src/util/ are the bottom layer: they import only each other, node and packages,
//     plus the root modules every layer uses (errors, assets, paths, version), which in turn import
//     only the bottom layer;
//   - src/policy/ does not import src/runtime/ (runtime hands policy what it needs as parameters);
//   - src/cli/ is imported by nothing outside cli/ but the entry points: src/main.ts (box) and
//     src/runc-main.ts (box-runc's own bundle).
// The graph comes from the TypeScript compiler itself: every import, export-from, require() and
// import() (type-only ones too, a type is a dependency of the design) resolved as tsc resolves it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '..', '..', 'src');

type Graph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** src-relative file -> the src-relative files it imports. */
function importGraph(): Graph {
  const configFile = ts.findConfigFile(SRC, ts.sys.fileExists);
  if (!configFile) throw new Error('no tsconfig.json above src/');
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configFile));
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const targets = new Set<string>();
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule?.resolvedFileName;
      if (resolved?.startsWith(SRC + path.sep)) targets.add(path.relative(SRC, resolved));
    }
    graph.set(path.relative(SRC, file), targets);
  }
  return graph;
}

/** The strongly connected components with more than one file (or a file that imports itself), Tarjan's way. */
function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** One concrete cycle through the component's first file, as "a -> b -> a", for a readable failure. */
function cyclePath(graph: Graph, component: string[]): string {
  const inside = new Set(component);
  const start = component.sort()[0];
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const chain = [v];
        while (chain[0] !== start) chain.unshift(from.get(chain[0])!);
        return [...chain, start].join(' -> ');
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return component.join(', ');
}

const top = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);
const ENTRY_POINTS = ['main.ts', 'runc-main.ts'];
const BOTTOM = new Set(['linux', 'util', 'errors.ts', 'assets.ts', 'paths.ts', 'version.ts']);

/** The edges that break a layer rule, as "from -> to". */
function layerViolations(graph: Graph): string[] {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const broken =
        (BOTTOM.has(top(from)) && !BOTTOM.has(top(to))) ||
        (top(from) === 'policy' && top(to) === 'runtime') ||
        (top(to) === 'cli' && top(from) !== 'cli' && !ENTRY_POINTS.includes(from));
      if (broken) bad.push(`${from} -> ${to}`);
    }
  }
  return bad.sort();
}

describe('import rules of src/', () => {
  const graph = importGraph();

  it('sees every kind of import (static, type-only, lazy require)', () => {
    // If the scan went blind, every rule below would pass: these edges exist on purpose.
    expect(graph.get('main.ts')).toContain('cli/index.ts');
    expect(graph.get('cli/index.ts')).toContain('cli/container/run.ts'); // load: () => require('./container/run')
    expect(graph.get('runtime/security.ts')).toContain('linux/seccomp/index.ts'); // lazy require
    expect(graph.get('policy/request.ts')).toContain('policy/types.ts'); // import type
  });

  it('has no import cycle', () => {
    expect(cycles(graph).map((c) => cyclePath(graph, c))).toEqual([]);
  });

  it('keeps the layers pointing one way', () => {
    expect(layerViolations(graph)).toEqual([]);
  });
});
