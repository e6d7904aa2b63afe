// The pid file of a network's DNS responder: its owner token ("<pid>.<start time>",
// src/util/owner.ts), so a pid reused by another process is never taken for the responder, and
// the address it listens on. Written by the responder itself once it holds the port.
import { isIP } from 'node:net';
import { featurePaths, Roots } from '../../paths';
import { readJsonIfExists } from '../../util/fs';
import { ownerAlive } from '../../util/owner';

export interface ResponderPid {
  token: string;
  address: string;
}

/** The pid file's content; undefined when there is none or it is not one box wrote. */
export function readResponderPid(roots: Roots, networkId: string): ResponderPid | undefined {
  let pid: Partial<ResponderPid> | undefined;
  try {
    pid = readJsonIfExists<Partial<ResponderPid>>(featurePaths.dnsPid(roots, networkId));
  } catch {
    return undefined; // garbled: as good as none
  }
  if (typeof pid?.token !== 'string' || !/^\d+\.\d+$/.test(pid.token)) return undefined;
  if (typeof pid.address !== 'string' || !isIP(pid.address)) return undefined;
  return { token: pid.token, address: pid.address };
}

/** The live responder of a network (its pid file names a process that runs), if any. */
export function liveResponder(roots: Roots, networkId: string): (ResponderPid & { pid: number }) | undefined {
  const pid = readResponderPid(roots, networkId);
  return pid && ownerAlive(pid.token) ? { ...pid, pid: Number(pid.token.split('.')[0]) } : undefined;
}
