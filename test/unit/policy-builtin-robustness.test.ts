// The C built-ins (policies/builtin/*.c) beyond their cases: requests far larger than any real
// one (no fixed-size buffer anywhere), many evaluations in one instance (the arena is reset after
// each call), numbers read and printed exactly as JavaScript does (the originals were TypeScript;
// node is the oracle here), and the inputs on which the originals threw fail the same way.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicies } from '../../build/policies.mjs';
import { Policy, PolicyLimits } from '../../src/policy/engine';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';
import type { PolicyMount, PolicyRequest } from '../../src/policy/types';

let tmp: string;
let outDir: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-builtin-'));
  outDir = path.join(tmp, 'policies');
  await buildPolicies({ outDir, stateDir: path.join(tmp, 'state'), log: () => {} });
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// These tests check what the built-ins compute for huge requests, so box keeps all of it (its
// caps on what a verdict may carry are tested in policy-resources.test.ts).
const UNCAPPED = { messages: { count: 1e6, chars: 1e8, totalChars: 1e9 }, patchChars: 1e9 };

function load(name: string, limits?: Partial<PolicyLimits>): Promise<Policy> {
  const all = { ...UNCAPPED, ...limits };
  return loadPolicy(
    { path: path.join(outDir, `${name}.wasm`) },
    { cacheDir: path.join(tmp, 'cache'), name, limits: all },
  );
}

/** A request a compliant container would make under strict (non-root, limits, no patch needed). */
function compliant(edit: (r: PolicyRequest) => void = () => {}): PolicyRequest {
  const r = emptyRequest();
  r.container.user = { spec: '1000', uid: 1000, gid: 1000, additionalGids: [] };
  r.container.resources = { memory: 256n << 20n, cpuQuota: 50000n, cpuPeriod: 100000n, pidsLimit: 100n, ulimits: [] };
  r.container.security.readOnlyRootfs = true;
  r.container.security.noNewPrivileges = true;
  edit(r);
  return r;
}

const bind = (source: string, destination: string, readOnly = false): PolicyMount => ({
  kind: 'bind',
  source,
  destination,
  readOnly,
  options: [],
});

describe('large requests', () => {
  // Megabytes of request take the glue a while to lower on a loaded host: these check
  // correctness, not speed, so they get a generous time limit.
  it('baseline: thousands of mounts, env entries, ulimits and capabilities, long strings', async () => {
    const p = await load('baseline', { timeoutMs: 10_000 });
    const long = 'x'.repeat(1000);
    const req = compliant((r) => {
      r.container.mounts = Array.from({ length: 3000 }, (_, i) => bind(`/etc/${long}/${i}`, `/m${i}`));
      r.container.env = Array.from({ length: 5000 }, (_, i) => `VAR${i}=${'v'.repeat(1000)}`);
      r.container.resources.ulimits = Array.from({ length: 2000 }, (_, i) => ({
        name: `nofile${i}`,
        soft: BigInt(i),
        hard: -1n,
      }));
      r.container.security.capabilities = Array.from({ length: 4000 }, (_, i) => (i % 2 ? 'SYS_ADMIN' : `CAP${i}`));
      r.args = [
        ...Array.from({ length: 1000 }, (_, i) => ['unused', `${i}`] as [string, string]),
        ['allow-capabilities', `${'BPF,'.repeat(20_000)}NET_ADMIN`],
      ];
    });
    const e = p.evaluate(req);
    expect(e.failure).toBeUndefined();
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons).toHaveLength(3001);
    expect(e.verdict.reasons[0]).toBe(
      `dangerous capabilities are not allowed: ${Array(2000).fill('SYS_ADMIN').join(', ')}`,
    );
    expect(e.verdict.reasons[3000]).toBe(`bind mount of /etc/${long}/2999 is not allowed (a sensitive host path)`);
  });

  it('strict: thousands of writable bind mounts are all made read-only', async () => {
    const p = await load('strict', { timeoutMs: 10_000 });
    const dirs = Array.from({ length: 3000 }, (_, i) => `/data/${'d'.repeat(500)}/${i}`);
    const e = p.evaluate(compliant((r) => (r.container.mounts = dirs.map((d) => bind(`/home/me${d}`, d)))));
    expect(e.failure).toBeUndefined();
    expect(e.verdict.decision).toBe('allow');
    expect(e.verdict.patch?.readOnlyMounts).toEqual(dirs);
    expect(e.verdict.warnings).toEqual(dirs.map((d) => `bind mount ${d} made read-only`));
  });

  it('sizes and numbers of any length', async () => {
    const strict = await load('strict');
    const huge = `1${'0'.repeat(20_000)}`;
    const e = strict.evaluate(
      compliant((r) => {
        r.container.resources.memory = undefined;
        r.args = [
          ['max-memory', `${huge}g`],
          ['max-pids', `${huge}e-20000`],
        ];
      }),
    );
    expect(e.failure).toBeUndefined();
    expect(e.verdict.reasons).toEqual([
      `a memory limit is required (--memory, at most ${huge} GiB)`,
      'pids limit 100 is above the maximum of 1',
    ]);

    const capacity = await load('capacity');
    const c = capacity.evaluate(
      compliant(
        (r) =>
          (r.args = [
            ['memory-share', huge],
            ['cpu-share', `0.${'0'.repeat(50_000)}1`],
          ]),
      ),
    );
    expect(c.failure).toBeUndefined();
    expect(c.verdict.reasons).toEqual([
      `policy argument memory-share=${huge} is not a non-negative number`,
      'not enough cpu: 0 committed + 0.5 requested > 0 (0% of 2 cpus)',
    ]);
  });
});

describe('one instance, many evaluations', () => {
  it('memory is reset after every call: 200 evaluations of a ~1 MiB request fit in 8 MiB', async () => {
    const p = await load('strict', { memoryBytes: 8 << 20 });
    const req = compliant((r) => {
      r.container.env = Array.from({ length: 1000 }, (_, i) => `VAR${i}=${'v'.repeat(1000)}`);
      r.container.mounts = [bind('/home/me/data', '/data')];
    });
    const first = p.evaluate(req);
    expect(first.failure).toBeUndefined();
    expect(first.verdict.warnings).toEqual(['bind mount /data made read-only']);
    for (let i = 0; i < 200; i++) {
      const e = p.evaluate(req);
      expect(e.failure).toBeUndefined();
      expect(e.instantiateMs).toBe(0);
      expect(e.verdict).toEqual(first.verdict);
      if (i % 50 === 0) expect(p.describe().name).toBe('strict'); // describe resets too
    }
  });

  it('a request larger than the memory limit fails closed, and the next one works', async () => {
    const p = await load('baseline', { memoryBytes: 8 << 20 });
    const big = emptyRequest();
    big.container.env = Array.from({ length: 20 }, () => 'v'.repeat(1 << 20));
    const e = p.evaluate(big);
    expect(e.failure?.kind).toBe('memory');
    expect(e.verdict.decision).toBe('deny');
    const next = p.evaluate(emptyRequest());
    expect(next.failure).toBeUndefined();
    expect(next.verdict.decision).toBe('allow');
  });
});

describe('JavaScript semantics', () => {
  // Number(s) as the argument, `${n}` in the message: node computes the expectation.
  const NUMBERS = [
    '0',
    '-0',
    '7',
    ' 12 ',
    '\u00a012\u3000',
    '\ufeff3\u2028',
    '1.5',
    '0.1',
    '0.57',
    '.5',
    '5.',
    '+2',
    '1e3',
    '1E-7',
    '1e21',
    '1e-7',
    '123456789012345678901234',
    '9007199254740993',
    '0.30000000000000004',
    '4.9e-324',
    '2.4703282292062327e-324',
    '2.4703282292062328e-324',
    '1.7976931348623157e308',
    '1.7976931348623158e308',
    '1.7976931348623159e308',
    '0x1F',
    '0XfF',
    '0o17',
    '0b101',
    `0x${'f'.repeat(300)}`,
    `0b${'1'.repeat(70)}`,
    '00012',
    '',
    ' ',
    'Infinity',
    '-Infinity',
    'NaN',
    'abc',
    '1_000',
    '0x',
    '0b2',
    '-0x1',
    '1e',
    '.',
    'e5',
    '1e400',
    '5e-325',
    '0.000001',
    '0.0000001',
    '1234567.8901234567',
    '2.5e-5',
    `${'9'.repeat(400)}e-380`,
    '1e1000000000000',
  ];

  it.each(NUMBERS)('Number(%j) and its printing', async (s) => {
    const p = await load('strict');
    const n = Number(s);
    const e = p.evaluate(
      compliant((r) => {
        r.container.resources.pidsLimit = undefined;
        r.args = [['max-pids', s]];
      }),
    );
    expect(e.failure).toBeUndefined();
    expect(e.verdict.reasons).toEqual(
      Number.isFinite(n) && n >= 0
        ? [`a pids limit is required (--pids-limit, at most ${n})`]
        : [
            `policy argument max-pids=${s} is not a non-negative number`,
            'a pids limit is required (--pids-limit, at most 4096)',
          ],
    );
  });

  it('products, quotients and rounding of doubles', async () => {
    const p = await load('capacity');
    for (const share of ['0.57', '0.29', '1.1', '0.333', '3e-7', '12.34']) {
      const host = { cpus: 3, memoryTotal: (64n << 30n) + 12345n };
      const e = p.evaluate(
        compliant((r) => {
          r.host = {
            ...r.host,
            ...host,
            committed: { ...r.host.committed, containers: 1, memory: 64n << 30n, millicpus: 2999n },
          };
          r.container.resources.cpuQuota = 12345n;
          r.container.resources.cpuPeriod = 10007n;
          r.args = [
            ['memory-share', share],
            ['cpu-share', share],
          ];
        }),
      );
      const x = Number(share);
      const cpuBudget = Math.round(3 * x * 1000);
      const millicpus = Math.ceil((12345 * 1000) / 10007);
      const budget = (host.memoryTotal * BigInt(Math.round(x * 1000))) / 1000n;
      const mib = (n: bigint) => (n % (1n << 30n) === 0n ? `${n >> 30n} GiB` : `${Number((n * 10n) >> 20n) / 10} MiB`);
      expect(e.verdict.reasons).toEqual([
        ...((64n << 30n) + (256n << 20n) > budget
          ? [
              `not enough memory: 64 GiB committed by 1 running containers + 256 MiB requested > ${mib(budget)} (${x * 100}% of ${mib(host.memoryTotal)})`,
            ]
          : []),
        ...(2999 + millicpus > cpuBudget
          ? [
              `not enough cpu: 2.999 committed + ${millicpus / 1000} requested > ${cpuBudget / 1000} (${x * 100}% of 3 cpus)`,
            ]
          : []),
      ]);
    }
  });

  it("capability names: trim() and toUpperCase() as JavaScript's (Unicode)", async () => {
    const p = await load('baseline');
    const caps = ['SYS_ADMIN', 'SYS_PTRACE', 'SYSLOG', 'SYS_TIME', 'BPF', 'NET_ADMIN', 'PERFMON', 'MAC_ADMIN'];
    const given = [
      'ſys_admin',
      ' cap_ſys_ptrace\u3000',
      'ßYSLOG',
      'ﬅ',
      'ſyſ_time',
      'CAP_CAP_BPF',
      'net_admın',
      'perf\u00adMON',
      'Mac_Admin',
    ];
    const allowed = new Set(given.map((s) => s.trim().toUpperCase().replace(/^CAP_/, '')));
    const refused = caps.filter((c) => !allowed.has(c));
    expect(refused.length).toBeGreaterThan(1); // both outcomes are exercised
    expect(refused.length).toBeLessThan(caps.length);
    const e = p.evaluate(
      compliant((r) => {
        r.container.security.capabilities = caps;
        r.args = [['allow-capabilities', given.join(',')]];
      }),
    );
    expect(e.verdict.reasons).toEqual([`dangerous capabilities are not allowed: ${refused.join(', ')}`]);
  });
});

describe('where the TypeScript originals threw, the C policies trap (fail-closed)', () => {
  it('a cpu period of 0 (BigInt division by zero)', async () => {
    for (const name of ['strict', 'capacity']) {
      const p = await load(name);
      const e = p.evaluate(compliant((r) => (r.container.resources.cpuPeriod = 0n)));
      expect(e.failure?.kind).toBe('trap');
      expect(e.verdict).toEqual({
        decision: 'deny',
        reasons: [expect.stringContaining(`policy ${name} trapped`)],
        warnings: [],
      });
      expect(p.evaluate(compliant()).failure).toBeUndefined(); // a fresh instance
    }
  });

  it('a share whose budget is Infinity (BigInt(Infinity))', async () => {
    const p = await load('capacity');
    const e = p.evaluate(compliant((r) => (r.args = [['cpu-share', '1e306']])));
    expect(e.failure?.kind).toBe('trap');
  });
});
