// What a network's DNS responder costs while it runs, for `box info`: its resident memory, and
// the part of it that is its own. Most of a responder's resident pages are the box executable's
// code, mapped from the same file by every box process and shared between them (RssFile); what
// each responder adds is its anonymous memory (RssAnon: V8's heap and Node's own allocations).
import * as fs from 'node:fs';
import { errnoCode } from '../../errors';
import { layout, Roots } from '../../paths';
import { readFileIfExists } from '../../util/fs';
import { liveResponder } from './pid-file';

export interface ResponderStatus {
  networkId: string;
  pid: number;
  address: string;
  /** VmRSS */
  rssBytes: number;
  /** RssAnon: memory no other process shares */
  privateBytes: number;
}

function kbField(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** The network's running responder and its memory; undefined when none runs. */
export function responderStatus(roots: Roots, networkId: string): ResponderStatus | undefined {
  const live = liveResponder(roots, networkId);
  const status = live && readFileIfExists(`/proc/${live.pid}/status`);
  if (!live || !status) return undefined;
  return {
    networkId,
    pid: live.pid,
    address: live.address,
    rssBytes: kbField(status, 'VmRSS'),
    privateBytes: kbField(status, 'RssAnon'),
  };
}

/** Every running responder of this runtime root. */
export function runningResponders(roots: Roots): ResponderStatus[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(layout.runNetworks(roots));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  return ids.flatMap((id) => {
    try {
      const s = responderStatus(roots, id);
      return s ? [s] : [];
    } catch {
      return []; // not a network id
    }
  });
}
