// What box loads from outside its store must be root's alone, as the store itself (safe-open.ts):
// the root's policies.d (its directory, its .json and .wasm files) and the cache directory box
// extracts its native code into (the helper, koffi's module). Otherwise: one line naming the path
// and the fix, exit 125, and no container made.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot } from '../support/box';

describe('trusted paths', () => {
  const t = busyboxRoot();
  const fix = "make it root's alone (chown root, chmod go-w) or remove it";
  const containers = () => t.box(['ps', '-a', '-q']).stdout;

  /** `box create` (which reads the default policies) refused with `stderr`, leaving no container. */
  function refused(args: string[], stderr: string) {
    const r = t.box(args);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 125, stderr });
    expect(containers()).toBe('');
  }

  it("the root's policies.d, its files and the component a .json names: refused unless root's alone", () => {
    const dir = path.join(t.root, 'policies.d');
    fs.mkdirSync(dir, { mode: 0o755 });
    const json = path.join(dir, '10-audit.json');
    fs.writeFileSync(json, JSON.stringify({ policy: 'baseline', mode: 'audit' }), { mode: 0o644 });
    const create = ['create', '--name', 'judged', 'busybox', 'true'];
    try {
      expect(t.box(create).status).toBe(0); // root's alone: read and applied
      expect(t.box(['rm', 'judged']).status).toBe(0);
      fs.chmodSync(json, 0o666);
      refused(create, `box: the default policy ${json} has mode 0666, writable by group or others: ${fix}\n`);
      fs.chmodSync(json, 0o644);
      fs.chownSync(json, 65534, 65534);
      refused(create, `box: the default policy ${json} is owned by uid 65534, not root: ${fix}\n`);
      fs.chownSync(json, 0, 0);
      fs.chmodSync(dir, 0o777);
      refused(create, `box: the policy directory ${dir} has mode 0777, writable by group or others: ${fix}\n`);
      fs.chmodSync(dir, 0o755);
      fs.rmSync(json);
      // a .wasm refused before it is read (its bytes are no component at all)
      const wasm = path.join(dir, '20-open.wasm');
      fs.writeFileSync(wasm, 'not a component', { mode: 0o646 });
      fs.chmodSync(wasm, 0o646);
      refused(create, `box: the default policy ${wasm} has mode 0646, writable by group or others: ${fix}\n`);
      fs.rmSync(wasm);
      // a .json naming a component elsewhere, which others may write
      const elsewhere = path.join(t.dir, 'loose.wasm');
      fs.writeFileSync(elsewhere, 'not a component', { mode: 0o666 });
      fs.chmodSync(elsewhere, 0o666);
      fs.writeFileSync(json, JSON.stringify({ policy: elsewhere }), { mode: 0o644 });
      const what = `the default policy component ${elsewhere}`;
      refused(create, `box: ${what} has mode 0666, writable by group or others: ${fix}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the cache directory of the helper: refused as a symbolic link or when another user owns it', () => {
    const cache = path.join(t.root, 'cache');
    const elsewhere = path.join(t.dir, 'cache-elsewhere');
    const run = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
    expect(t.box(run).status).toBe(0); // extracted into it
    const why = (w: string) =>
      `box: box's cache directory ${cache} ${w}: box loads native code from it; make it root's alone or remove it\n`;
    fs.renameSync(cache, elsewhere);
    try {
      fs.symlinkSync(elsewhere, cache);
      refused(run, why('is a symbolic link'));
      fs.unlinkSync(cache);
      fs.renameSync(elsewhere, cache);
      fs.chownSync(cache, 65534, 65534);
      refused(run, why('is owned by uid 65534, not root'));
    } finally {
      if (fs.lstatSync(cache, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(cache);
      if (fs.existsSync(elsewhere)) fs.renameSync(elsewhere, cache);
      fs.chownSync(cache, 0, 0);
    }
    expect(t.box(run).status).toBe(0);
  });
});
