import { describe, expect, it } from 'vitest';
import {
  CAP,
  CAP_NAMES,
  DOCKER_DEFAULT_CAP_MASK,
  allCapsMask,
  capBit,
  capSetsFor,
  capsToNames,
  hasCap,
  parseCapName,
  resolveCapabilities,
} from '../../src/linux/capabilities';

const names = (m: bigint) => capsToNames(m).map((n) => n.slice(4));

describe('capability table', () => {
  it('has the kernel numbers', () => {
    expect(CAP_NAMES.length).toBe(41);
    expect(CAP.CAP_CHOWN).toBe(0);
    expect(CAP.CAP_SETPCAP).toBe(8);
    expect(CAP.CAP_NET_ADMIN).toBe(12);
    expect(CAP.CAP_SYS_ADMIN).toBe(21);
    expect(CAP.CAP_MKNOD).toBe(27);
    expect(CAP.CAP_SETFCAP).toBe(31);
    expect(CAP.CAP_SYSLOG).toBe(34);
    expect(CAP.CAP_AUDIT_READ).toBe(37);
    expect(CAP.CAP_PERFMON).toBe(38);
    expect(CAP.CAP_BPF).toBe(39);
    expect(CAP.CAP_CHECKPOINT_RESTORE).toBe(40);
  });

  it("has Docker's default set", () => {
    expect(names(DOCKER_DEFAULT_CAP_MASK).sort()).toEqual(
      [
        'CHOWN',
        'DAC_OVERRIDE',
        'FSETID',
        'FOWNER',
        'MKNOD',
        'NET_RAW',
        'SETGID',
        'SETUID',
        'SETFCAP',
        'SETPCAP',
        'NET_BIND_SERVICE',
        'SYS_CHROOT',
        'KILL',
        'AUDIT_WRITE',
      ].sort(),
    );
    // 0xa80425fb is the well-known CapBnd of a default Docker container
    expect(DOCKER_DEFAULT_CAP_MASK).toBe(0xa80425fbn);
  });
});

describe('parseCapName', () => {
  it('accepts both spellings in any case', () => {
    expect(parseCapName('NET_ADMIN')).toBe(12);
    expect(parseCapName('CAP_NET_ADMIN')).toBe(12);
    expect(parseCapName('cap_net_admin')).toBe(12);
    expect(parseCapName('Net_Admin')).toBe(12);
    expect(parseCapName('all')).toBe('ALL');
    expect(parseCapName('ALL')).toBe('ALL');
  });

  it('rejects unknown names clearly', () => {
    expect(() => parseCapName('FOO')).toThrow('unknown capability "FOO": see capabilities(7) for names');
    expect(() => parseCapName('CAP_')).toThrow(/unknown capability/);
    expect(() => parseCapName('')).toThrow(/unknown capability/);
  });
});

describe('resolveCapabilities', () => {
  it('defaults', () => {
    expect(resolveCapabilities({})).toBe(DOCKER_DEFAULT_CAP_MASK);
    expect(resolveCapabilities({ capAdd: [], capDrop: [] })).toBe(DOCKER_DEFAULT_CAP_MASK);
  });

  it('adds and drops', () => {
    const m = resolveCapabilities({ capAdd: ['NET_ADMIN', 'cap_sys_ptrace'], capDrop: ['MKNOD', 'CAP_NET_RAW'] });
    expect(hasCap(m, 'NET_ADMIN')).toBe(true);
    expect(hasCap(m, 'SYS_PTRACE')).toBe(true);
    expect(hasCap(m, 'MKNOD')).toBe(false);
    expect(hasCap(m, 'NET_RAW')).toBe(false);
    expect(hasCap(m, 'CHOWN')).toBe(true);
    expect(m).toBe((DOCKER_DEFAULT_CAP_MASK | capBit(12) | capBit(19)) & ~(capBit(27) | capBit(13)));
  });

  it('drop ALL keeps only the added ones', () => {
    expect(names(resolveCapabilities({ capDrop: ['ALL'] }))).toEqual([]);
    expect(names(resolveCapabilities({ capDrop: ['all'], capAdd: ['chown', 'NET_BIND_SERVICE'] }))).toEqual([
      'CHOWN',
      'NET_BIND_SERVICE',
    ]);
  });

  it('add ALL gives everything but the dropped ones', () => {
    const m = resolveCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] });
    expect(m).toBe(allCapsMask(40) & ~capBit(21));
    expect(resolveCapabilities({ capAdd: ['ALL'], capDrop: ['ALL'] })).toBe(allCapsMask(40));
  });

  it('a capability both added and dropped is present (Docker drops from the defaults, then adds)', () => {
    expect(hasCap(resolveCapabilities({ capAdd: ['NET_ADMIN'], capDrop: ['NET_ADMIN'] }), 'NET_ADMIN')).toBe(true);
    expect(hasCap(resolveCapabilities({ capAdd: ['CHOWN'], capDrop: ['CHOWN'] }), 'CHOWN')).toBe(true);
  });

  it('privileged gets every capability up to lastCap', () => {
    expect(resolveCapabilities({ privileged: true })).toBe((1n << 41n) - 1n);
    expect(resolveCapabilities({ privileged: true, lastCap: 37 })).toBe((1n << 38n) - 1n);
    expect(resolveCapabilities({ privileged: true, capDrop: ['ALL'] })).toBe((1n << 41n) - 1n);
  });

  it('never sets bits above lastCap', () => {
    expect(resolveCapabilities({ capAdd: ['ALL'], lastCap: 35 })).toBe((1n << 36n) - 1n);
    expect(hasCap(resolveCapabilities({ capAdd: ['BPF'], lastCap: 38 }), 'BPF')).toBe(false);
  });

  it('validates names', () => {
    expect(() => resolveCapabilities({ capAdd: ['NET_ADMN'] })).toThrow(
      'unknown capability "NET_ADMN": see capabilities(7) for names',
    );
    expect(() => resolveCapabilities({ capDrop: ['bogus'] })).toThrow(/unknown capability "bogus"/);
  });
});

describe('capsToNames / capSetsFor', () => {
  it('lists names in number order', () => {
    expect(capsToNames(capBit(21) | capBit(0) | capBit(40))).toEqual([
      'CAP_CHOWN',
      'CAP_SYS_ADMIN',
      'CAP_CHECKPOINT_RESTORE',
    ]);
    expect(capsToNames(0n)).toEqual([]);
    expect(capsToNames(capBit(45))).toEqual(['CAP_45']);
    // every bit of both 32-bit halves, and their edges
    const all = capsToNames((1n << 64n) - 1n);
    expect(all.length).toBe(64);
    const unknown = Array.from({ length: 23 }, (_, i) => `CAP_${41 + i}`);
    expect(all.slice(39)).toEqual(['CAP_BPF', 'CAP_CHECKPOINT_RESTORE', ...unknown]);
    expect(capsToNames(capBit(31) | capBit(32) | capBit(63))).toEqual(['CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_63']);
  });

  it('root gets the mask in bounding/effective/permitted', () => {
    const m = DOCKER_DEFAULT_CAP_MASK;
    expect(capSetsFor(m, 0)).toEqual({ bounding: m, effective: m, permitted: m, inheritable: 0n, ambient: 0n });
  });

  it('other users keep only the bounding set', () => {
    const m = DOCKER_DEFAULT_CAP_MASK;
    expect(capSetsFor(m, 1000)).toEqual({ bounding: m, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n });
  });
});
