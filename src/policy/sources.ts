// Which policies apply to a start, and where each one's component comes from.
//
// A policy reference is a built-in's name (baseline, strict, capacity: embedded in box) or the
// path of a .wasm component, optionally followed by `:enforce`, `:warn` or `:audit`.
// Defaults apply to every start unless root passes --no-default-policies:
//   /etc/box/policies.d/ and <storage root>/policies.d/, read in file-name order:
//     NAME.wasm   a policy, enforced, no arguments
//     NAME.json   { "policy": "strict" | "/path/p.wasm", "mode": "warn", "args": { "k": "v" } }
//   $BOX_POLICY   references separated by commas, as --policy takes them
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { featurePaths, Roots } from '../paths';
import { notRootsAlone, unsafeAncestor } from '../util/trusted-path';
import { readUserText } from '../util/user-file';
import type { Pair } from './types';

export const BUILTIN_POLICIES = ['baseline', 'strict', 'capacity'] as const;
export type BuiltinPolicy = (typeof BUILTIN_POLICIES)[number];

export type PolicyMode = 'enforce' | 'warn' | 'audit';
const MODES: readonly PolicyMode[] = ['enforce', 'warn', 'audit'];

export interface PolicyRef {
  /** a built-in's name or a file path */
  ref: string;
  mode: PolicyMode;
  /** arguments given with this policy (policies.d); --policy-arg values follow them */
  args: Pair[];
  /** where the reference came from, for messages: "--policy", "BOX_POLICY" or a file */
  origin: string;
}

export const SYSTEM_POLICY_DIR = '/etc/box/policies.d';

/**
 * Where default policies live. The system directory is fixed (no environment variable moves it):
 * the only way past an operator's defaults is --no-default-policies, which is root's and visible.
 */
export function policyDirs(roots: Roots): string[] {
  return [SYSTEM_POLICY_DIR, featurePaths.policies(roots)];
}

export function isBuiltin(ref: string): ref is BuiltinPolicy {
  return (BUILTIN_POLICIES as readonly string[]).includes(ref);
}

/**
 * The built-ins whose verdict never depends on what other containers have committed (their C
 * sources never read `host.committed`; test/unit/policy-builtin.test.ts holds it).
 */
const BLIND_TO_COMMITTED: readonly BuiltinPolicy[] = ['baseline', 'strict'];

/**
 * Whether a policy may read what the host's other containers have committed: a file may, and so
 * does capacity. A start none of whose policies does needs neither those sums nor the lock that
 * keeps them from going stale (admission.ts).
 */
export function readsCommitted(ref: string): boolean {
  return !(BLIND_TO_COMMITTED as readonly string[]).includes(ref);
}

/** "strict", "strict:warn", "./p.wasm:audit" → reference and mode. */
export function parsePolicyRef(value: string, origin: string): PolicyRef {
  let ref = value.trim();
  let mode: PolicyMode = 'enforce';
  const colon = ref.lastIndexOf(':');
  if (colon > 0 && (MODES as readonly string[]).includes(ref.slice(colon + 1))) {
    mode = ref.slice(colon + 1) as PolicyMode;
    ref = ref.slice(0, colon);
  }
  if (isBuiltin(ref)) return { ref, mode, args: [], origin };
  if (ref === '' || (!ref.includes('/') && !ref.endsWith('.wasm'))) throw badPolicyRef(value, ref, origin);
  return { ref: path.resolve(ref), mode, args: [], origin };
}

/** Why a reference names neither a built-in nor a file (apart: a start never compiles it). */
function badPolicyRef(value: string, ref: string, origin: string): BoxError {
  if (ref === '')
    return new BoxError(
      `${origin}: an empty policy reference: give a built-in name (${BUILTIN_POLICIES.join(', ')}) or a .wasm file`,
    );
  return new BoxError(
    `${origin} "${value}": no built-in policy of that name (built-ins: ${BUILTIN_POLICIES.join(', ')}); give a path to a .wasm file`,
  );
}

function fromJsonFile(file: string): PolicyRef {
  let doc: { policy?: unknown; mode?: unknown; args?: unknown };
  try {
    const text = readUserText(file, { what: 'default policy', maxBytes: 1 << 20, hint: 'fix or remove the file' });
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`default policy ${file}: ${(err as Error).message}: fix or remove the file`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new BoxError(`default policy ${file}: expected a JSON object: fix or remove the file`);
  }
  if (typeof doc.policy !== 'string')
    throw new BoxError(`default policy ${file}: "policy" must name a built-in or a .wasm file`);
  const policyRef = isBuiltin(doc.policy) ? doc.policy : path.resolve(path.dirname(file), doc.policy);
  const ref = parsePolicyRef(policyRef, `default policy ${file}`);
  if (doc.mode !== undefined) {
    if (typeof doc.mode !== 'string' || !(MODES as readonly string[]).includes(doc.mode)) {
      throw new BoxError(`default policy ${file}: "mode" must be one of ${MODES.join(', ')}`);
    }
    ref.mode = doc.mode as PolicyMode;
  }
  if (doc.args !== undefined) {
    if (typeof doc.args !== 'object' || doc.args === null || Array.isArray(doc.args))
      throw new BoxError(`default policy ${file}: "args" must be an object of strings`);
    ref.args = Object.entries(doc.args).map(([k, v]) => [k, String(v)]);
  }
  ref.origin = file;
  return ref;
}

/**
 * A default policy, its file or its directory, must be root's alone (the store's rule: owned by
 * root, writable by nobody else, in directories only root can change): whoever else could change
 * it would choose what every start is admitted with.
 */
function trustPolicyPath(p: string, what: string): void {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return; // a component named but missing: loading it says so
  const why = notRootsAlone(st) ?? unsafeAncestor(p);
  if (why) throw new BoxError(`the ${what} ${p} ${why}: make it root's alone (chown root, chmod go-w) or remove it`);
}

/**
 * The default policies that judge a container again (`box update`, `box network connect`):
 * today's, unless it was created with --no-default-policies. What re-judges a container uses
 * the policies that admitted it, so a container root let past the defaults stays past them.
 */
export function defaultPoliciesFor(roots: Roots, container: { noDefaultPolicies?: true }): PolicyRef[] {
  return container.noDefaultPolicies ? [] : defaultPolicies(roots);
}

/** The default policies: policies.d directories, then $BOX_POLICY. */
export function defaultPolicies(roots: Roots): PolicyRef[] {
  const refs: PolicyRef[] = [];
  for (const dir of policyDirs(roots)) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue; // no such directory: no defaults from it
    }
    trustPolicyPath(dir, 'policy directory');
    for (const name of names) {
      const file = path.join(dir, name);
      if (!name.endsWith('.wasm') && !name.endsWith('.json')) continue;
      trustPolicyPath(file, 'default policy');
      const ref = name.endsWith('.wasm')
        ? { ref: file, mode: 'enforce' as const, args: [], origin: file }
        : fromJsonFile(file);
      // the component a .json names, wherever it is
      if (ref.ref !== file && !isBuiltin(ref.ref)) trustPolicyPath(ref.ref, 'default policy component');
      refs.push(ref);
    }
  }
  for (const value of (process.env.BOX_POLICY ?? '').split(',')) {
    if (value.trim()) refs.push(parsePolicyRef(value, 'BOX_POLICY'));
  }
  return refs;
}
