// The `state` file of a box-runc container: what box-runc's native half (native/oci-*.c) reads to
// answer start, state, kill, delete, ps and list without a Node.js start. `create` writes it once,
// after record.json (so a container with this file has a record), and nothing rewrites it. This
// module is the format's one definition (native/PROTOCOL.md "box-runc" describes it; the C reader's
// key table in native/oci-state.c is compared with STATE_KEYS by test/unit/oci-state-file.test.ts).
//
// One `KEY VALUE` line each: strings are JSON strings (as JSON.stringify writes them, never a raw
// newline), so the native side copies them into its JSON output byte for byte; numbers are
// decimal. The first line names the format and its version: a reader that does not know it hands
// the command to box's Node.js side.
import type { CgroupLocation } from '../linux/cgroup-manager';

export const STATE_FILE_MAGIC = 'box-runc-state';
export const STATE_FILE_VERSION = 1;

/** Every key, in the order written; `annotation`, `hook` and `cgroupRoot` may repeat. */
export const STATE_KEYS = [
  'id', // JSON string
  'ociVersion', // JSON string
  'bundle', // JSON string
  'rootfs', // JSON string
  'created', // JSON string (ISO 8601)
  'command', // JSON string: process.args[0], for a start's error
  'pid', // the init's pid
  'pidStart', // field 22 of /proc/PID/stat of the init: a recycled pid is not the container
  'monitorPid', // the helper's monitor, alive (a box-helper) until the container started
  'annotation', // JSON key, space, JSON value; in the order of the state's annotations object
  'hook', // poststart or poststop: the container has such hooks (the native side leaves it to box)
  'cgroupRoot', // JSON string: a hierarchy's root (one on cgroup v2, one per hierarchy on v1)
  'cgroupPath', // JSON string: the cgroup's path under each root
  'freezer', // JSON file, space, JSON line: the cgroup is paused while FILE holds the line
] as const;

export type StateKey = (typeof STATE_KEYS)[number];

/** What the file holds of a container's record (store.ts's OciRecord has these fields and more). */
export interface StateRecord {
  id: string;
  ociVersion: string;
  bundle: string;
  rootfs: string;
  created: string;
  command: string;
  pid: number;
  pidStart: string;
  monitorPid: number;
  annotations: Record<string, string>;
}

export interface StateFile {
  record: StateRecord;
  hooks: ('poststart' | 'poststop')[];
  cgroup: CgroupLocation;
}

const str = (s: string) => JSON.stringify(s);

export function renderStateFile(
  rec: StateRecord & { hooks: Partial<Record<'poststart' | 'poststop', unknown[]>> },
  cgroup: CgroupLocation,
): string {
  const lines: string[] = [`${STATE_FILE_MAGIC} ${STATE_FILE_VERSION}`];
  const add = (key: StateKey, value: string) => lines.push(`${key} ${value}`);
  for (const key of ['id', 'ociVersion', 'bundle', 'rootfs', 'created', 'command'] as const) add(key, str(rec[key]));
  add('pid', String(rec.pid));
  add('pidStart', rec.pidStart);
  add('monitorPid', String(rec.monitorPid));
  // Object.entries keeps JSON.stringify's key order (integer-like keys first)
  for (const [k, v] of Object.entries(rec.annotations ?? {})) add('annotation', `${str(k)} ${str(v)}`);
  for (const hook of ['poststart', 'poststop'] as const) if (rec.hooks[hook]?.length) add('hook', hook);
  for (const root of cgroup.roots) add('cgroupRoot', str(root));
  add('cgroupPath', str(cgroup.relPath));
  if (cgroup.freezer) add('freezer', `${str(cgroup.freezer.file)} ${str(cgroup.freezer.frozenLine)}`);
  return lines.join('\n') + '\n';
}

/** A JSON string at the start of `s`, and what follows it after one space. */
function takeString(s: string): [string, string] {
  let i = 1;
  while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
  return [JSON.parse(s.slice(0, i + 1)) as string, s.slice(i + 2)];
}

/** Reads a state file back (tests; the native side has its own reader of the same format). */
export function parseStateFile(text: string): StateFile {
  const [head, ...lines] = text.split('\n');
  if (head !== `${STATE_FILE_MAGIC} ${STATE_FILE_VERSION}`) throw new Error(`not a state file: ${head}`);
  const rec: Record<string, unknown> = { annotations: {} };
  const out: StateFile = { record: rec as unknown as StateRecord, hooks: [], cgroup: { roots: [], relPath: '' } };
  for (const line of lines) {
    if (!line) continue;
    const key = line.slice(0, line.indexOf(' ')) as StateKey;
    const value = line.slice(key.length + 1);
    if (key === 'annotation') {
      const [k, rest] = takeString(value);
      (rec.annotations as Record<string, string>)[k] = takeString(rest)[0];
    } else if (key === 'hook') out.hooks.push(value as 'poststart' | 'poststop');
    else if (key === 'cgroupRoot') out.cgroup.roots.push(takeString(value)[0]);
    else if (key === 'cgroupPath') out.cgroup.relPath = takeString(value)[0];
    else if (key === 'freezer') {
      const [file, rest] = takeString(value);
      out.cgroup.freezer = { file, frozenLine: takeString(rest)[0] };
    } else if (key === 'pid' || key === 'monitorPid') rec[key] = Number(value);
    else if (key === 'pidStart') rec[key] = value;
    else if ((STATE_KEYS as readonly string[]).includes(key)) rec[key] = takeString(value)[0];
    else throw new Error(`unknown key ${key} in a state file`);
  }
  return out;
}
