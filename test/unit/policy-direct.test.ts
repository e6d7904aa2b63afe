// box calls a built-in policy's core module directly (src/policy/admission-abi.ts, its own
// canonical-ABI codec) instead of through jco's glue. Held here: the codec's types are those of
// policies/wit/policy.wit; every built-in decides every case of policies/builtin/cases and of the
// examples exactly as it does through jco (verdicts and descriptions compared whole); and the
// direct path stays fail-closed: a loop is stopped at the time limit, unbounded allocation at the
// memory limit, a trap or a malformed verdict (a list outside memory, a bad discriminant) denies.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_POLICIES, buildComponent, buildPolicies } from '../../build/policies.mjs';
import { liftInfo, liftVerdict, lowerRequest } from '../../src/policy/admission-codec';
import { ADMISSION_TYPES } from '../../src/policy/admission-types';
import { componentCoreModules } from '../../src/policy/binary';
import { liftFromMemory, lowerToMemory, type WitType, wit } from '../../src/policy/canonical';
import { generateCodec } from '../../src/policy/codec-gen';
import { readCases, requestFromFragment } from '../../src/policy/commands';
import { builtinCore, Policy, PolicyLoadError } from '../../src/policy/engine';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';
import type { PolicyRequest } from '../../src/policy/types';

const REPO = path.join(__dirname, '..', '..');
const BUILTIN = path.join(REPO, 'policies', 'builtin');
const EXAMPLES = path.join(REPO, 'policies', 'examples');

let tmp: string;
let outDir: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-direct-'));
  outDir = path.join(tmp, 'policies');
  await buildPolicies({ outDir, stateDir: path.join(tmp, 'state'), force: true, log: () => {} });
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- the codec's types against the WIT file ----

/** A WIT type as text with every named type expanded, e.g. `record{a:u32,b:list<string>}`. */
function describeWit(t: WitType): string {
  switch (t.kind) {
    case 'list':
      return `list<${describeWit(t.of)}>`;
    case 'option':
      return `option<${describeWit(t.of)}>`;
    case 'tuple':
      return `tuple<${t.items.map(describeWit).join(',')}>`;
    case 'record':
      return `record{${t.fields.map((f) => `${f.name}:${describeWit(f.type)}`).join(',')}}`;
    case 'enum':
      return `enum{${t.cases.join(',')}}`;
    case 'variant':
      return `variant{${t.cases.map(([n, p]) => (p ? `${n}(${describeWit(p)})` : n)).join(',')}}`;
    default:
      return t.kind;
  }
}

/** The named types of policy.wit's admission interface, expanded the same way (a parser for what it uses). */
function witTypes(file: string): Map<string, string> {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\/.*$/gm, '')
    .replace(/\s+/g, ' ');
  const defs = new Map<string, { kind: string; body: string }>();
  for (const m of text.matchAll(/\b(record|enum|variant) ([a-z0-9-]+) \{([^}]*)\}/g))
    defs.set(m[2], { kind: m[1], body: m[3] });
  for (const m of text.matchAll(/\btype ([a-z0-9-]+) = ([^;]+);/g)) defs.set(m[1], { kind: 'alias', body: m[2] });
  const splitTop = (s: string): string[] => {
    const out: string[] = [];
    let depth = 0;
    let cur = '';
    for (const ch of s) {
      if (ch === ',' && depth === 0) {
        out.push(cur.trim());
        cur = '';
        continue;
      }
      if (ch === '<' || ch === '(') depth++;
      if (ch === '>' || ch === ')') depth--;
      cur += ch;
    }
    if (cur.trim()) out.push(cur.trim());
    return out;
  };
  const expand = (ref: string): string => {
    const generic = /^(list|option|tuple)<(.*)>$/.exec(ref.trim());
    if (generic) return `${generic[1]}<${splitTop(generic[2]).map(expand).join(',')}>`;
    const def = defs.get(ref.trim());
    if (!def) return ref.trim();
    if (def.kind === 'alias') return expand(def.body);
    const items = splitTop(def.body);
    if (def.kind === 'enum') return `enum{${items.join(',')}}`;
    if (def.kind === 'record') {
      return `record{${items
        .map((f) => f.split(':').map((x) => x.trim()))
        .map(([n, t]) => `${n}:${expand(t)}`)
        .join(',')}}`;
    }
    const cases = items.map((c) => {
      const p = /^([a-z0-9-]+)\((.*)\)$/.exec(c);
      return p ? `${p[1]}(${expand(p[2])})` : c;
    });
    return `variant{${cases.join(',')}}`;
  };
  return new Map([...defs.keys()].map((name) => [name, expand(name)]));
}

it('has the types of policies/wit/policy.wit, field by field and case by case', () => {
  const wit = witTypes(path.join(REPO, 'policies', 'wit', 'policy.wit'));
  for (const [name, type] of Object.entries(ADMISSION_TYPES))
    expect([name, describeWit(type)]).toEqual([name, wit.get(name)]);
  // the functions' parameter and results are those types
  expect(wit.get('request')).toContain('record{container:record{name:string');
  expect(Object.keys(ADMISSION_TYPES)).toEqual(expect.arrayContaining(['request', 'verdict', 'info']));
});

it('lays out the request as jco does', () => {
  // jco's glue allocates 600 bytes aligned to 8 for a request
  expect([ADMISSION_TYPES.request.size, ADMISSION_TYPES.request.align]).toEqual([600, 8]);
});

it('runs the codec generated from those types (BOX_UPDATE_CODEC=1 writes it again)', () => {
  const file = path.join(REPO, 'src', 'policy', 'admission-codec.ts');
  const generated = generateCodec(
    { Request: ADMISSION_TYPES.request },
    { Verdict: ADMISSION_TYPES.verdict, Info: ADMISSION_TYPES.info },
  );
  if (process.env.BOX_UPDATE_CODEC === '1') fs.writeFileSync(file, generated);
  expect(fs.readFileSync(file, 'utf8')).toBe(generated);
});

it("reads and writes strings as jco's TextDecoder and TextEncoder do", () => {
  // box uses Buffer's UTF-8 codec (warm in a start): invalid UTF-8, a leading byte order mark
  // (TextDecoder drops it) and a lone surrogate must come out the same
  const memory = new WebAssembly.Memory({ initial: 1 });
  let next = 64;
  const guest = {
    memory,
    realloc: (_old: number, _size: number, align: number, size: number) => {
      next = Math.ceil(next / align) * align;
      const at = next;
      next += size;
      return at;
    },
  };
  const bytes = new Uint8Array(memory.buffer);
  const samples = [
    [0xef, 0xbb, 0xbf, 0x41],
    [0x41, 0xef, 0xbb, 0xbf],
    [0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90],
    [0xe2, 0x82],
  ];
  for (const sample of samples) {
    bytes.set(sample, 1024);
    new DataView(memory.buffer).setUint32(8, 1024, true);
    new DataView(memory.buffer).setUint32(12, sample.length, true);
    expect(liftFromMemory(memory, wit.string, 8)).toBe(new TextDecoder().decode(new Uint8Array(sample)));
  }
  for (const text of ['\ud800', 'a\udfffb', 'é€😀', '\ufeffx']) {
    const at = lowerToMemory(guest, wit.string, text);
    const view = new DataView(memory.buffer);
    const written = bytes.slice(view.getUint32(at, true), view.getUint32(at, true) + view.getUint32(at + 4, true));
    expect([...written]).toEqual([...new TextEncoder().encode(text)]);
  }
});

// ---- the built-ins through jco and directly ----

interface Case {
  name: string;
  request: PolicyRequest;
}

/** Every request of the built-ins' cases and of the examples' (mounts, networks, labels...). */
function allCases(): Case[] {
  const files = [
    ...fs.readdirSync(path.join(BUILTIN, 'cases')).map((f) => path.join(BUILTIN, 'cases', f)),
    ...fs
      .readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.cases.yaml'))
      .map((f) => path.join(EXAMPLES, f)),
  ];
  return files.flatMap((file) =>
    readCases(file).map((c, i) => {
      const request = requestFromFragment(c.request ?? {});
      if (c.args)
        request.args = Array.isArray(c.args) ? c.args : Object.entries(c.args).map(([k, v]) => [k, String(v)]);
      return { name: `${path.basename(file)}: ${c.name ?? i + 1}`, request };
    }),
  );
}

describe.each(BUILTIN_POLICIES)('built-in %s', (name) => {
  const load = (direct: boolean): Promise<Policy> =>
    loadPolicy({ path: path.join(outDir, `${name}.wasm`) }, { cacheDir: path.join(tmp, 'cache'), name, direct });

  it('describes itself and decides every case exactly as through jco', async () => {
    const [jco, direct] = [await load(false), await load(true)];
    expect(direct.describe()).toEqual(jco.describe());
    const cases = allCases();
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) {
      const [a, b] = [jco.evaluate(c.request), direct.evaluate(c.request)];
      expect([c.name, b.failure, b.verdict]).toEqual([c.name, a.failure, a.verdict]);
    }
    expect([direct.exportName, direct.imports, direct.digest]).toEqual([jco.exportName, [], jco.digest]);
  });

  it("runs the core module box's build made of it (dist/assets) as it runs the component", async () => {
    const assets = path.join(REPO, 'dist', 'assets');
    const component = fs.readFileSync(path.join(assets, `policy-${name}.wasm`));
    const core = fs.readFileSync(path.join(assets, `policy-${name}.core.wasm`));
    expect(Buffer.from(builtinCore(component, name)).equals(core)).toBe(true);
    const opts = { cacheDir: path.join(tmp, 'cache'), name, direct: true, knownDigest: 'sha256 of the component' };
    let componentRead = false;
    const source = {
      name,
      read: () => {
        componentRead = true;
        return component;
      },
    };
    const built = await loadPolicy(source, { ...opts, builtCore: () => core, knownSize: component.length });
    expect(componentRead).toBe(false);
    const checked = await loadPolicy({ bytes: component, name }, opts);
    expect([built.size, built.digest]).toEqual([checked.size, checked.digest]);
    for (const c of allCases()) {
      const [a, b] = [checked.evaluate(c.request), built.evaluate(c.request)];
      expect([c.name, b.failure, b.verdict]).toEqual([c.name, a.failure, a.verdict]);
    }
    // another memory limit than the one it was made with: the component is read and limited anew
    await loadPolicy(source, { ...opts, builtCore: () => core, limits: { memoryBytes: 64 << 20 } });
    expect(componentRead).toBe(true);
  });
});

it("writes every case's request as the types' own codec does, byte for byte, and reads the results alike", () => {
  const [core] = componentCoreModules(fs.readFileSync(path.join(outDir, 'baseline.wasm')), 'baseline');
  const module = new WebAssembly.Module(core);
  type Exports = {
    memory: WebAssembly.Memory;
    cabi_realloc: (old: number, oldSize: number, align: number, size: number) => number;
    [name: string]: unknown;
  };
  const guest = () => {
    const exports = new WebAssembly.Instance(module, {}).exports as Exports;
    return { exports, memory: exports.memory, realloc: exports.cabi_realloc };
  };
  const cases = allCases();
  cases[0].request.container.env = ['A=é', 'B=\ud800', '']; // two-byte UTF-8, a lone surrogate, empty
  for (const c of cases) {
    const [tables, generated] = [guest(), guest()];
    const at = lowerToMemory(tables, ADMISSION_TYPES.request, c.request);
    expect([c.name, lowerRequest(generated, c.request)]).toEqual([c.name, at]);
    expect(Buffer.from(generated.memory.buffer).equals(Buffer.from(tables.memory.buffer))).toBe(true);
    const verdict = (generated.exports['box:policy/admission@0.2.0#evaluate'] as (p: number) => number)(at);
    expect(liftVerdict(generated.memory, verdict)).toEqual(
      liftFromMemory(generated.memory, ADMISSION_TYPES.verdict, verdict),
    );
  }
  // a request whose strings make the guest's memory grow while it is written: what is written after
  // each growth lands in the new memory (read back whole from it)
  const big = structuredClone(cases[0].request);
  big.container.env = Array.from({ length: 3000 }, (_, i) => `V${i}=${'x'.repeat(1000)}`);
  const grown = guest();
  const before = grown.memory.buffer.byteLength;
  const at = lowerRequest(grown, big);
  expect(grown.memory.buffer.byteLength).toBeGreaterThan(before + (2 << 20));
  expect(liftFromMemory(grown.memory, ADMISSION_TYPES.request, at)).toEqual(big);
  const { exports, memory } = guest();
  const info = (exports['box:policy/admission@0.2.0#describe'] as () => number)();
  expect(liftInfo(memory, info)).toEqual(liftFromMemory(memory, ADMISSION_TYPES.info, info));
  // a value of the wrong type is refused as by the tables
  const bad = { ...cases[0].request, caller: { uid: -1, gid: 0 } };
  expect(() => lowerRequest(guest(), bad)).toThrow(/expected a u32, got -1/);
});

// ---- fail-closed ----

const HOSTILE_C = `
#include "policy.h"

/* exponential without a loop: only its calls can be checked */
static unsigned calls(unsigned n)
{
	return n < 2 ? n : calls(n - 1) + calls(n - 2) + 1;
}

void policy_describe(box_info *info)
{
	*info = (box_info){ str_c("hostile"), str_c("1"), str_c("misbehaves on request"), { 0, 0 } };
}

void policy_evaluate(const box_request *req, box_verdict *v)
{
	str name = req->container.name;
	*v = (box_verdict){ 0 };
	if (str_eq_c(name, "loop"))
		for (volatile int i = 0;; i++)
			;
	if (str_eq_c(name, "slow"))
		for (volatile int i = 0; i < 5000000; i++)
			;
	if (str_eq_c(name, "recurse") && calls(req->container.name.len * 20) == 7)
		box_trap();
	if (str_eq_c(name, "alloc"))
		for (;;)
			box_alloc(1 << 20, 8);
	if (str_eq_c(name, "trap"))
		box_trap();
	if (str_eq_c(name, "list-outside")) {
		v->reasons = (box_list_string){ (str *)0x7ffffff0, 1000 };
		v->decision = BOX_DENY;
	}
	if (str_eq_c(name, "string-outside")) {
		/* one reason whose bytes run past the end of memory (32 bytes below 2 GiB, 1000 long) */
		box_string *reason = box_alloc(sizeof *reason, 4);
		*reason = (box_string){ (const char *)0x7fffffe0, 1000 };
		v->reasons = (box_list_string){ reason, 1 };
		v->decision = BOX_DENY;
	}
	if (str_eq_c(name, "bad-decision"))
		*(volatile uint8_t *)&v->decision = 7;
	if (str_eq_c(name, "bad-bool")) {
		v->patch.is_some = 1;
		*(volatile uint8_t *)&v->patch.val.read_only_rootfs = 2;
	}
}
`;

describe('a hostile policy called directly', () => {
  let file: string;
  beforeAll(async () => {
    const src = path.join(tmp, 'hostile.c');
    fs.writeFileSync(src, HOSTILE_C);
    file = path.join(tmp, 'hostile.wasm');
    await buildComponent({ sources: [path.join(BUILTIN, 'lib.c'), src], out: file });
  }, 120_000);

  const load = (limits = {}) =>
    loadPolicy({ path: file }, { cacheDir: path.join(tmp, 'cache'), name: 'hostile', direct: true, limits });
  const request = (name: string): PolicyRequest => {
    const r = emptyRequest();
    r.container.name = name;
    return r;
  };

  it('allows when it behaves', async () => {
    expect((await load()).evaluate(request('ok')).verdict).toEqual({ decision: 'allow', reasons: [], warnings: [] });
  });

  it('is stopped at the time limit, and the next evaluation gets a fresh instance', async () => {
    const p = await load({ timeoutMs: 100 });
    const t = performance.now();
    const e = p.evaluate(request('loop'));
    expect(e.failure?.kind).toBe('timeout');
    expect(e.verdict).toEqual({
      decision: 'deny',
      reasons: ['policy hostile exceeded its time limit of 100 ms'],
      warnings: [],
    });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(p.evaluate(request('ok')).verdict.decision).toBe('allow');
  });

  it("is stopped at the time limit by its own deadline checks when box made its core as a built-in's", async () => {
    // (builtinCore: what box's build runs for each built-in; the watchdog is then not used)
    const component = fs.readFileSync(file);
    const core = builtinCore(component, 'hostile');
    const opts = { cacheDir: path.join(tmp, 'cache'), name: 'hostile', direct: true, knownDigest: 'its sha256' };
    const p = await loadPolicy(
      { bytes: component, name: 'hostile' },
      { ...opts, builtCore: () => core, limits: { timeoutMs: 100 } },
    );
    for (const name of ['loop', 'recurse']) {
      const t = performance.now();
      const e = p.evaluate(request(name));
      expect([name, e.failure?.kind, e.verdict.reasons]).toEqual([
        name,
        'timeout',
        ['policy hostile exceeded its time limit of 100 ms'],
      ]);
      expect(performance.now() - t).toBeLessThan(1500);
      expect(p.evaluate(request('ok')).verdict.decision).toBe('allow');
    }
    // more checks than a first run may pass (FIRST_RUN_CHECKS), within the time: run again, and decided
    const limits = { timeoutMs: 5000 };
    const slow = await loadPolicy({ bytes: component, name: 'hostile' }, { ...opts, builtCore: () => core, limits });
    const e = slow.evaluate(request('slow'));
    expect([e.failure, e.verdict.decision]).toEqual([undefined, 'allow']);
  });

  it('is stopped at the memory limit', async () => {
    const p = await load({ memoryBytes: 32 << 20 });
    const e = p.evaluate(request('alloc'));
    expect(e.failure?.kind).toBe('memory');
    expect(e.verdict.reasons[0]).toMatch(/^policy hostile exceeded its memory limit of 32 MiB/);
  });

  it('denies on a trap and on a malformed verdict', async () => {
    const p = await load();
    const trap = p.evaluate(request('trap'));
    expect([trap.failure?.kind, trap.verdict.decision]).toEqual(['trap', 'deny']);
    expect(trap.verdict.reasons[0]).toMatch(/^policy hostile trapped: .*unreachable/);
    for (const [name, message] of [
      ['list-outside', /a list of 1000 at 2147483632 is out of bounds/],
      ['string-outside', /a string of 1000 bytes at 2147483616 is out of bounds/],
      ['bad-decision', /invalid discriminant 7/],
      ['bad-bool', /invalid bool 2/],
    ] as const) {
      const e = p.evaluate(request(name));
      expect([name, e.failure?.kind, e.verdict.decision]).toEqual([name, 'trap', 'deny']);
      expect(e.verdict.reasons[0]).toMatch(message);
    }
  });

  it('is stopped at the start-up time limit when its start function loops', async () => {
    const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
    const looping = path.join(tmp, 'start-loops.wasm');
    const fn = (name: string, sig = '') => `(func (export "${name}") ${sig} unreachable)`;
    const wat = `(component (core module
      (memory (export "memory") 1)
      (func $forever (loop $again (br $again)))
      ${fn('cabi_realloc', '(param i32 i32 i32 i32) (result i32)')}
      ${fn('box:policy/admission@0.2.0#describe', '(result i32)')}
      ${fn('box:policy/admission@0.2.0#evaluate', '(param i32) (result i32)')}
      ${fn('cabi_post_box:policy/admission@0.2.0#describe', '(param i32)')}
      ${fn('cabi_post_box:policy/admission@0.2.0#evaluate', '(param i32)')}
      (start $forever)))`;
    fs.writeFileSync(looping, await tools.parse(wat));
    const p = await loadPolicy(
      { path: looping },
      { cacheDir: path.join(tmp, 'cache'), direct: true, limits: { instantiateTimeoutMs: 100 } },
    );
    const t = performance.now();
    const e = p.evaluate(request('ok'));
    expect([e.failure?.kind, e.verdict.decision]).toEqual(['timeout', 'deny']);
    expect(e.verdict.reasons[0]).toMatch(/exceeded its start-up time limit of 100 ms/);
    expect(performance.now() - t).toBeLessThan(1500);
  });

  it('refuses a component whose core module box cannot call', async () => {
    const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
    const other = path.join(tmp, 'other.wasm');
    fs.writeFileSync(other, await tools.parse('(component (core module (memory (export "memory") 1)))'));
    const err = await loadPolicy({ path: other }, { cacheDir: path.join(tmp, 'cache'), direct: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyLoadError);
    expect((err as Error).message).toMatch(/cannot be called directly: it lacks the function cabi_realloc/);
  });
});
