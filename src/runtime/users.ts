// `-u user[:group]` as Docker resolves it: names are looked up in the image's /etc/passwd and
// /etc/group, numbers are used as they are, and the user's supplementary groups are added.
import { BoxError } from '../errors';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] }));
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) }));
}

const MAX_ID = 2 ** 32 - 2;

export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const [userPart, groupPart] = spec === '' ? ['0', undefined] : spec.split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let uid: number;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = users.find((u) => u.uid === uid);
    if (entry) ({ gid, home, name } = entry);
  } else {
    const entry = users.find((u) => u.name === userPart);
    if (!entry) throw new BoxError(`unable to find user ${userPart}: no matching entries in the image's /etc/passwd`);
    ({ uid, gid, home, name } = entry);
  }
  if (uid > MAX_ID) throw new BoxError(`user id ${uid} is out of range`);
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (!g) throw new BoxError(`unable to find group ${groupPart}: no matching entries in the image's /etc/group`);
      gid = g.gid;
    }
    if (gid > MAX_ID) throw new BoxError(`group id ${gid} is out of range`);
  }
  // The primary group is listed among the supplementary groups too, as runc does.
  const additionalGids = [
    ...new Set([gid, ...(name ? groups.filter((g) => g.members.includes(name!)).map((g) => g.gid) : [])]),
  ];
  return { uid, gid, additionalGids, home: home || '/' };
}
