import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeviceProgram } from '../../src/linux/bpf';
import { compileDeviceProgram, DEFAULT_DEVICE_RULES, v1RuleText } from '../../src/linux/devices';

describe('device rules', () => {
  it("are Docker's defaults, in cgroup v1's text form", () => {
    // the set in moby's oci/defaults.go (DefaultLinuxSpec), written out here
    expect(DEFAULT_DEVICE_RULES.map(v1RuleText).sort()).toEqual(
      [
        'c *:* m',
        'b *:* m',
        'c 1:3 rwm',
        'c 1:5 rwm',
        'c 1:7 rwm',
        'c 1:8 rwm',
        'c 1:9 rwm',
        'c 5:0 rwm',
        'c 5:1 rwm',
        'c 5:2 rwm',
        'c 136:* rwm',
        'c 10:200 rwm',
      ].sort(),
    );
  });

  it('compile to a cgroup device program the kernel verifier accepts', () => {
    for (const rules of [DEFAULT_DEVICE_RULES, [{ type: 'a' as const, access: 'rwm' }], []]) {
      const fd = loadDeviceProgram(compileDeviceProgram(rules));
      expect(fd).toBeGreaterThan(2);
      fs.closeSync(fd);
    }
  });

  it('encode each rule as its checks: type, access subset, major, minor, then allow', () => {
    const insns = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => b.readUInt8(i * 8));
    // prologue (6) + one block per rule + the final deny (2)
    const one = compileDeviceProgram([{ type: 'c', major: 1, minor: 3, access: 'rwm' }]);
    expect(insns(one)).toEqual([0x61, 0x57, 0x61, 0x77, 0x61, 0x61, 0x55, 0x55, 0x55, 0xb7, 0x95, 0xb7, 0x95]);
    // a jump to the next rule skips the rest of its block
    expect(one.readInt16LE(6 * 8 + 2)).toBe(4);
    expect(one.readInt32LE(11 * 8 + 4)).toBe(0); // deny when nothing matched
    const mknodOnly = compileDeviceProgram([{ type: 'b', access: 'm' }]);
    expect(insns(mknodOnly).slice(6)).toEqual([0x55, 0xbf, 0x57, 0x5d, 0xb7, 0x95, 0xb7, 0x95]);
    expect(mknodOnly.readInt32LE(8 * 8 + 4)).toBe(1); // allowed access: mknod
    // a rule matching everything ends the program (the verifier refuses unreachable code)
    expect(
      insns(
        compileDeviceProgram([
          { type: 'a', access: 'rwm' },
          { type: 'c', access: 'm' },
        ]),
      ).slice(6),
    ).toEqual([0xb7, 0x95]);
  });
});
