import { describe, expect, it } from 'vitest';
import {
  containerIfname,
  defaultBridgeName,
  hostVethName,
  IFNAME_MAX,
  nftTableName,
  rootTag,
  userBridgeName,
  validIfname,
  vethContainerPrefix,
} from '../../src/network/kernel-names';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('host-global kernel names', () => {
  it('the default storage root has no tag and the documented names', () => {
    const roots = { root: '/var/lib/box' };
    expect(rootTag(roots)).toBe('');
    expect(defaultBridgeName(roots)).toBe('box0');
    expect(userBridgeName(roots, ID)).toBe('box-a1b2c3d4e5f');
    expect(nftTableName(roots)).toBe('box');
  });

  it('another root tags every shared name, and two roots never share one', () => {
    const a = { root: '/tmp/box-test-a' };
    const b = { root: '/tmp/box-test-b' };
    expect(rootTag(a)).toMatch(/^[0-9a-f]{4}$/);
    expect(rootTag(a)).not.toBe(rootTag(b));
    expect(defaultBridgeName(a)).toBe(`bx${rootTag(a)}0`);
    expect(userBridgeName(a, ID)).toBe(`bx${rootTag(a)}-a1b2c3d4`);
    expect(nftTableName(a)).toBe(`box-${rootTag(a)}`);
    expect(defaultBridgeName(a)).not.toBe(defaultBridgeName(b));
  });

  it('every interface name fits Linux limit and a veth maps back to its container', () => {
    for (const name of [userBridgeName({ root: '/x' }, ID), userBridgeName({ root: '/var/lib/box' }, ID)]) {
      expect(name.length).toBeLessThanOrEqual(IFNAME_MAX);
    }
    expect(hostVethName(ID, 0)).toBe('vba1b2c3d4e50');
    expect(hostVethName(ID, 12).length).toBeLessThanOrEqual(IFNAME_MAX);
    expect(vethContainerPrefix(hostVethName(ID, 3))).toBe(ID.slice(0, 10));
    expect(vethContainerPrefix('eth0')).toBeUndefined();
    expect(containerIfname(1)).toBe('eth1');
  });

  it('validIfname follows the kernel rules', () => {
    expect(validIfname('br-app')).toBe(true);
    expect(validIfname('a'.repeat(16))).toBe(false);
    expect(validIfname('a/b')).toBe(false);
    expect(validIfname('a b')).toBe(false);
    expect(validIfname('')).toBe(false);
  });
});
