// `box policy build|test|eval|inspect|export|list|log`: tools for policy authors and operators.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { readAudit } from '../policy/audit';
import { builtinBytes } from '../policy/open';
import { BUILTIN_POLICIES, defaultPolicies, isBuiltin } from '../policy/sources';
import { printable, printableJson } from '../util/printable';
import { bool, CommandSpec, FlagSpec, list, str } from './args';
import { roots } from './context';

const TIMEOUT_FLAG: FlagSpec = {
  names: ['--policy-timeout'],
  key: 'timeout',
  kind: 'string',
  value: 'duration',
  description: 'time limit of one evaluation (default 250ms)',
};
const JSON_FLAG: FlagSpec = {
  names: ['--format'],
  key: 'format',
  kind: 'string',
  value: 'json',
  description: 'json: machine-readable output',
};

/** A built-in's name or a component file, as a path the engine can load. */
async function policyOptions(a: { flags: Record<string, unknown> }) {
  const { parsePolicyTimeout } = await import('../policy/admission');
  return { limits: { timeoutMs: parsePolicyTimeout(a.flags.timeout as string | undefined) } };
}

async function open(ref: string, a: { flags: Record<string, unknown> }) {
  const { openPolicy } = await import('../policy/open');
  const target = isBuiltin(ref) ? ref : path.resolve(ref);
  return openPolicy(target, roots(), await policyOptions(a));
}

export const policyBuildCommand: CommandSpec = {
  paths: [['policy', 'build']],
  summary:
    'Build a policy component from TypeScript or JavaScript (needs esbuild and componentize-js in your project).',
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'file',
      description: 'the component to write (default: SRC with .wasm)',
    },
  ],
  positionals: [{ name: 'SRC' }],
  examples: ['box policy build my-policy.ts -o my-policy.wasm'],
  async run(a) {
    const src = a.positionals[0];
    const out = str(a, 'output') ?? src.replace(/\.[cm]?[jt]s$/, '') + '.wasm';
    const { buildPolicy } = await import('../policy/build');
    const r = await buildPolicy(src, out);
    process.stdout.write(
      `${out}: ${(r.size / 1048576).toFixed(1)} MiB component (bundle ${r.bundleBytes} bytes, componentize ${Math.round(r.componentizeMs)} ms)\n`,
    );
    return 0;
  },
};

export const policyTypesCommand: CommandSpec = {
  paths: [['policy', 'types']],
  summary: "Write box's WIT and the TypeScript types generated from it, for policy authors.",
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'dir',
      description: 'the directory to write (default box-policy-types)',
    },
  ],
  positionals: [],
  async run(a) {
    const { policyTypes, policyWitText } = await import('../policy/build');
    const dir = path.resolve(str(a, 'output') ?? 'box-policy-types');
    const files: Record<string, string> = { ...policyTypes(), 'wit/policy.wit': policyWitText() };
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    process.stdout.write(
      `${Object.keys(files)
        .sort()
        .map((f) => path.join(dir, f))
        .join('\n')}\n`,
    );
    return 0;
  },
};

export const policyInspectCommand: CommandSpec = {
  paths: [['policy', 'inspect']],
  summary: 'Show what a policy component is: world, version, imports, exports, size, digest, arguments.',
  flags: [JSON_FLAG],
  positionals: [{ name: 'POLICY' }],
  async run(a) {
    const p = await open(a.positionals[0], a);
    const info = p.describe();
    const out = {
      name: p.name,
      source: p.file ?? `builtin:${p.name}`,
      sha256: p.digest,
      size: p.size,
      world: p.exportName,
      witVersion: p.witVersion,
      imports: p.imports,
      exports: p.exports.map(([n]) => n),
      info,
      transpiledFromCache: p.timings.cacheHit,
    };
    if (str(a, 'format') === 'json') {
      process.stdout.write(printableJson(JSON.stringify(out, null, 2)) + '\n');
      return 0;
    }
    // The name, description and arguments are the policy's own text: printed escaped.
    const lines = [
      `Name:        ${info.name} ${info.version}`,
      `Description: ${info.description}`,
      `Source:      ${out.source}`,
      `Digest:      sha256:${p.digest}`,
      `Size:        ${p.size} bytes`,
      `Exports:     ${out.exports.join(', ')}`,
      `Imports:     ${out.imports.length ? out.imports.join(', ') : 'none'}`,
      'Arguments:',
      ...(info.arguments.length ? info.arguments.map((x) => `  ${x.name}: ${x.description}`) : ['  none']),
    ];
    process.stdout.write(lines.map(printable).join('\n') + '\n');
    return 0;
  },
};

export const policyEvalCommand: CommandSpec = {
  paths: [['policy', 'eval']],
  summary: 'Show what a policy decides about a request (JSON fragment over a complete default request).',
  flags: [
    {
      names: ['--request', '-r'],
      key: 'request',
      kind: 'string',
      value: 'file',
      description: 'the request fragment, JSON (default: the default request)',
    },
    { names: ['--policy-arg'], key: 'arg', kind: 'list', value: 'KEY=VALUE', description: 'a policy argument' },
    TIMEOUT_FLAG,
  ],
  positionals: [{ name: 'POLICY' }],
  async run(a) {
    const { parsePolicyArgs } = await import('../policy/admission');
    const { readRequestFragment, requestFromFragment, toJson } = await import('../policy/commands');
    const file = str(a, 'request');
    const fragment = file ? readRequestFragment(file) : {};
    const req = requestFromFragment(fragment);
    const args = parsePolicyArgs(list(a, 'arg'));
    if (args.length) req.args = args;
    const p = await open(a.positionals[0], a);
    const ev = p.evaluate(req);
    const shown = { ...ev.verdict, failure: ev.failure, evaluateMs: ev.evaluateMs, instantiateMs: ev.instantiateMs };
    process.stdout.write(printableJson(toJson(shown)) + '\n');
    return ev.verdict.decision === 'allow' ? 0 : 1;
  },
};

export const policyTestCommand: CommandSpec = {
  paths: [['policy', 'test']],
  summary: 'Run a policy against test cases (YAML or JSON) and report like a test runner.',
  flags: [TIMEOUT_FLAG],
  positionals: [{ name: 'POLICY' }, { name: 'CASES' }],
  examples: ['box policy test my-policy.wasm my-policy.cases.yaml'],
  async run(a) {
    const { readCases, runCases } = await import('../policy/commands');
    const cases = readCases(a.positionals[1]);
    const p = await open(a.positionals[0], a);
    const results = runCases(p, cases);
    let failed = 0;
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}\n`);
      // A problem quotes the policy's reasons.
      for (const problem of r.problems) process.stdout.write(`        ${printable(problem)}\n`);
      if (!r.ok) failed++;
    }
    process.stdout.write(
      `\n${results.length - failed} passed, ${failed} failed (${results.length} cases, policy ${p.name} sha256:${p.digest.slice(0, 12)})\n`,
    );
    return failed ? 1 : 0;
  },
};

export const policyExportCommand: CommandSpec = {
  paths: [['policy', 'export']],
  summary: 'Write a built-in policy out as a component file.',
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'file',
      description: 'the file to write (default NAME.wasm)',
    },
  ],
  positionals: [{ name: 'NAME' }],
  async run(a) {
    const name = a.positionals[0];
    if (!isBuiltin(name))
      throw new BoxError(`no built-in policy "${name}" (built-ins: ${BUILTIN_POLICIES.join(', ')})`);
    const out = str(a, 'output') ?? `${name}.wasm`;
    const tmp = `${out}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, builtinBytes(name));
    fs.renameSync(tmp, out);
    return 0;
  },
};

export const policyListCommand: CommandSpec = {
  paths: [
    ['policy', 'ls'],
    ['policy', 'list'],
  ],
  summary: 'List the built-in policies and the default policies applied to every start.',
  flags: [],
  positionals: [],
  async run() {
    const rows = [['POLICY', 'MODE', 'FROM'], ...BUILTIN_POLICIES.map((n) => [n, '-', 'built-in'])];
    for (const d of defaultPolicies(roots())) rows.push([d.ref, d.mode, `default (${d.origin})`]);
    const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(rows.map((r) => `${r[0].padEnd(w[0])}   ${r[1].padEnd(w[1])}   ${r[2]}`).join('\n') + '\n');
    return 0;
  },
};

export const policyLogCommand: CommandSpec = {
  paths: [['policy', 'log']],
  summary: 'Show the policy audit log: every decision a policy made about a start.',
  flags: [
    {
      names: ['--container', '-c'],
      key: 'container',
      kind: 'string',
      value: 'name|id',
      description: 'only decisions about this container',
    },
    { names: ['--tail', '-n'], key: 'tail', kind: 'string', value: 'N', description: 'only the last N decisions' },
    { names: ['--denied'], key: 'denied', kind: 'bool', description: 'only denials (enforced or not)' },
    JSON_FLAG,
  ],
  positionals: [],
  async run(a) {
    let entries = readAudit(roots());
    const c = str(a, 'container');
    if (c) entries = entries.filter((e) => e.container.name === c || (c.length >= 3 && e.container.id.startsWith(c)));
    if (bool(a, 'denied')) entries = entries.filter((e) => e.decision === 'deny');
    const tail = str(a, 'tail');
    if (tail !== undefined) {
      if (!/^\d+$/.test(tail)) throw new BoxError(`invalid --tail "${tail}": give a number`);
      entries = entries.slice(Math.max(0, entries.length - Number(tail)));
    }
    if (str(a, 'format') === 'json') {
      process.stdout.write(entries.map((e) => printableJson(JSON.stringify(e)) + '\n').join(''));
      return 0;
    }
    for (const e of entries) {
      const who = e.container.name || e.container.id.slice(0, 12);
      const what = e.failure ? `failed (${e.failure.kind})` : e.decision;
      const detail = [...e.reasons, ...(e.applied.length ? [`applied: ${e.applied.join(', ')}`] : [])].join('; ');
      const decided = `${e.policy.name} (${e.mode})  ${what} -> ${e.outcome}${detail ? `: ${detail}` : ''}`;
      // Reasons are the policy's text, names the record's: printed escaped.
      process.stdout.write(printable(`${e.time}  ${who}  ${e.image.reference}  ${decided}  ${e.durationMs} ms`) + '\n');
    }
    return 0;
  },
};
