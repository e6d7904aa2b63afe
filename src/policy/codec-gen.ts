// Generates admission-codec.ts: the request's lowering and the verdict's and description's lifting
// as straight-line code, from the types of admission-abi.ts and canonical.ts's layouts. Why: a
// start runs the codec once, in a new process, so what costs is code run for the first time and
// the type tables built at load, not speed once warm. Walking the tables took ~0.4 ms of CPU to
// build them and ~0.4 to lower a request; the generated code builds nothing and runs each field's
// few lines once. test/unit/policy-direct.test.ts checks that admission-codec.ts is what this
// generates (BOX_UPDATE_CODEC=1 rewrites it) and that it writes and reads what the tables' codec does.
import type { WitType } from './canonical';

/** A pointer expression: a variable and a constant offset. */
interface At {
  base: string;
  offset: number;
}
const show = (at: At): string => (at.offset ? `${at.base} + ${at.offset}` : at.base);
const plus = (at: At, n: number): At => ({ base: at.base, offset: at.offset + n });
const key = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);

class Generator {
  private readonly hoisted: string[] = [];
  private readonly names = new Map<string, string>();
  private temps = 0;

  /** `make` with temporaries numbered from 0: the same type gives the same text, hoisted once. */
  private fresh<T>(make: () => T): T {
    const saved = this.temps;
    this.temps = 0;
    try {
      return make();
    } finally {
      this.temps = saved;
    }
  }

  private temp(prefix: string): string {
    return `${prefix}${this.temps++}`;
  }

  /** A module-level constant or function, once per distinct text. */
  private hoist(prefix: string, make: (name: string) => string, identity: string): string {
    const known = this.names.get(identity);
    if (known) return known;
    const name = `${prefix}${this.names.size}`;
    this.names.set(identity, name);
    this.hoisted.push(make(name));
    return name;
  }

  private cases(names: string[]): string {
    const text = `[${names.map((n) => JSON.stringify(n)).join(', ')}]`;
    return this.hoist('C', (n) => `const ${n} = ${text} as const;`, `cases ${text}`);
  }

  /** Statements writing the value of expression `value` (evaluated once) of type `t` at `at`. */
  store(t: WitType, value: string, at: At, indent: string): string[] {
    switch (t.kind) {
      case 'bool':
      case 'u8':
      case 'u16':
      case 'u32':
      case 'u64':
      case 's64':
      case 'string':
        return [`${indent}w.${t.kind}(${value}, ${show(at)});`];
      case 'list': {
        const body = this.fresh(() => this.store(t.of, 'x', { base: 'p', offset: 0 }, '  '));
        const fn = this.hoist(
          'store',
          (n) => `function ${n}(w: Writer, x: unknown, p: number): void {\n${body.join('\n')}\n}`,
          `store ${body.join('\n')}`,
        );
        return [`${indent}w.list(${value}, ${show(at)}, ${t.of.size}, ${t.of.align}, ${fn});`];
      }
      case 'option': {
        const v = this.temp('o');
        return [
          `${indent}const ${v} = ${value};`,
          `${indent}if (w.some(${v}, ${show(at)})) {`,
          ...this.store(t.of, v, plus(at, t.payload), `${indent}  `),
          `${indent}}`,
        ];
      }
      case 'record': {
        const v = this.temp('r');
        return [
          `${indent}const ${v} = w.record(${value});`,
          ...t.fields.flatMap((f) => this.store(f.type, `${v}${key(f.key)}`, plus(at, f.offset), indent)),
        ];
      }
      case 'tuple': {
        const v = this.temp('t');
        return [
          `${indent}const ${v} = w.tuple(${value});`,
          ...t.items.flatMap((item, i) => this.store(item, `${v}[${i}]`, plus(at, t.offsets[i]), indent)),
        ];
      }
      case 'enum':
        return [`${indent}w.choice(${value}, ${this.cases(t.cases)}, ${show(at)});`];
      case 'variant': {
        const v = this.temp('v');
        const c = this.temp('c');
        const lines = [
          `${indent}const ${v} = ${value} as { tag?: unknown; val?: unknown } | null | undefined;`,
          `${indent}const ${c} = w.choice(${v}?.tag, ${this.cases(t.cases.map(([n]) => n))}, ${show(at)});`,
        ];
        t.cases.forEach(([, payload], i) => {
          if (!payload) return;
          lines.push(`${indent}if (${c} === ${i}) {`);
          lines.push(...this.store(payload, `${v}?.val`, plus(at, t.payload), `${indent}  `));
          lines.push(`${indent}}`);
        });
        return lines;
      }
    }
  }

  /** An expression reading a value of type `t` at `at`. */
  load(t: WitType, at: At): string {
    const p = show(at);
    switch (t.kind) {
      case 'bool':
        return `r.bool(${p})`;
      case 'u8':
        return `r.dv.getUint8(${p})`;
      case 'u16':
        return `r.dv.getUint16(${p}, true)`;
      case 'u32':
        return `r.dv.getUint32(${p}, true)`;
      case 'u64':
        return `r.dv.getBigUint64(${p}, true)`;
      case 's64':
        return `r.dv.getBigInt64(${p}, true)`;
      case 'string':
        return `r.string(${p})`;
      case 'list': {
        const body = this.load(t.of, { base: 'p', offset: 0 });
        const fn = this.hoist(
          'load',
          (n) => `function ${n}(r: Reader, p: number): unknown {\n  return ${body};\n}`,
          `load ${body}`,
        );
        return `r.list(${p}, ${t.of.size}, ${t.of.align}, ${fn})`;
      }
      case 'option':
        return `(r.choice(${p}, 2, 'option') === 0 ? undefined : ${this.load(t.of, plus(at, t.payload))})`;
      case 'record':
        return `{ ${t.fields.map((f) => `${JSON.stringify(f.key)}: ${this.load(f.type, plus(at, f.offset))}`).join(', ')} }`;
      case 'tuple':
        return `[${t.items.map((item, i) => this.load(item, plus(at, t.offsets[i]))).join(', ')}]`;
      case 'enum':
        return `${this.cases(t.cases)}[r.choice(${p}, ${t.cases.length}, ${JSON.stringify(`enum ${t.cases.join('|')}`)})]`;
      case 'variant': {
        const arms = t.cases.map(([name, payload], i) => {
          const val = payload ? `, val: ${this.load(payload, { base: 'p', offset: t.payload })}` : '';
          return `    case ${i}:\n      return { tag: ${JSON.stringify(name)}${val} };`;
        });
        const body = `  switch (r.choice(p, ${t.cases.length}, 'variant')) {\n${arms.join('\n')}\n  }`;
        const fn = this.hoist(
          'load',
          (n) => `function ${n}(r: Reader, p: number): unknown {\n${body}\n}`,
          `load ${body}`,
        );
        return `${fn}(r, ${p})`;
      }
    }
  }

  module(lowered: Record<string, WitType>, lifted: Record<string, WitType>, header: string): string {
    const exported: string[] = [];
    for (const [name, t] of Object.entries(lowered)) {
      const body = this.store(t, 'value', { base: 'ptr', offset: 0 }, '  ');
      exported.push(
        `/** Writes a ${name} into memory the guest allocates; returns its address. */\n` +
          `export function lower${name}(guest: Guest, value: unknown): number {\n` +
          `  const w = new Writer(guest);\n  const ptr = w.alloc(${t.align}, ${t.size});\n${body.join('\n')}\n  return ptr;\n}`,
      );
    }
    for (const [name, t] of Object.entries(lifted)) {
      const expr = this.load(t, { base: 'ptr', offset: 0 });
      exported.push(
        `/** Reads a ${name} returned at \`ptr\`; throws on a bad pointer, length or discriminant. */\n` +
          `export function lift${name}(memory: WebAssembly.Memory, ptr: number): unknown {\n` +
          `  if (ptr % ${t.align} !== 0) throw new TypeError(\`result pointer \${ptr} is not aligned to ${t.align}\`);\n` +
          `  const r = new Reader(memory);\n  return ${expr};\n}`,
      );
    }
    return `${header}\nimport { Guest, Reader, Writer } from './canonical';\n\n${[...this.hoisted, ...exported].join('\n\n')}\n`;
  }
}

/** The text of admission-codec.ts: lower<NAME> for each of `lowered`, lift<NAME> for each of `lifted`. */
export function generateCodec(lowered: Record<string, WitType>, lifted: Record<string, WitType>): string {
  const header =
    '// GENERATED by src/policy/codec-gen.ts from the types of admission-types.ts: do not edit; regenerate with\n' +
    '// BOX_UPDATE_CODEC=1 npx vitest run test/unit/policy-direct.test.ts. The canonical-ABI lowering and\n' +
    "// lifting of box:policy@0.2.0's request, verdict and description, field by field (see codec-gen.ts).";
  return new Generator().module(lowered, lifted, header);
}
