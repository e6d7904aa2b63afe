// `box top`: the container's processes as `ps -ef` shows them (UID PID PPID C STIME TTY TIME CMD),
// read from its cgroup's process list and /proc, without running ps.
import * as fs from 'node:fs';

/** USER_HZ: the unit of the times in /proc/PID/stat (100 on every Linux architecture box runs on). */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  ttyNr: number;
  utime: number;
  stime: number;
  /** clock ticks after boot */
  starttime: number;
}

/** Parses /proc/PID/stat; comm may contain spaces and parentheses, so fields start after the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`malformed /proc stat: ${text.slice(0, 80)}`);
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): field n is f[n - 3]
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    ttyNr: Number(f[4]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    starttime: Number(f[19]),
  };
}

/** The tty of a process from stat's tty_nr, as ps names it ("pts/0", "tty1", "?"). */
export function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  if (major === 5 && minor === 1) return 'console';
  return '?';
}

/** Cumulative CPU time as ps prints it: [DD-]HH:MM:SS. */
export function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return days > 0 ? `${days}-${hms}` : hms;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ps's STIME: HH:MM for a process started in the last 24 hours, else MonDD (local time). */
export function startTime(started: Date, now: Date): string {
  if (now.getTime() - started.getTime() < 24 * 3600 * 1000) {
    return `${String(started.getHours()).padStart(2, '0')}:${String(started.getMinutes()).padStart(2, '0')}`;
  }
  return `${MONTHS[started.getMonth()]}${String(started.getDate()).padStart(2, '0')}`;
}

/** Host user names by uid (docker top shows the host's view, like ps on the host). */
export function userNames(passwd: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]) && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]);
  }
  return m;
}

export function bootTime(procStat = fs.readFileSync('/proc/stat', 'utf8')): number {
  const m = /^btime (\d+)$/m.exec(procStat);
  return m ? Number(m[1]) : 0;
}

export const TOP_TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];

/** One ps -ef row per pid (pids that vanished meanwhile are skipped), sorted by pid. */
export function processRows(pids: number[], now = new Date()): string[][] {
  let passwd = '';
  try {
    passwd = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    /* numeric uids then */
  }
  const users = userNames(passwd);
  const btime = bootTime();
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const rows: [number, string[]][] = [];
  for (const pid of [...pids].sort((a, b) => a - b)) {
    try {
      const st = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      while (argv.length && argv[argv.length - 1] === '') argv.pop();
      const cpuSeconds = (st.utime + st.stime) / CLOCK_TICKS;
      const elapsed = uptime - st.starttime / CLOCK_TICKS;
      const c = elapsed > 0 ? Math.floor((cpuSeconds * 100) / elapsed) : 0;
      rows.push([
        pid,
        [
          users.get(uid) ?? String(uid),
          String(pid),
          String(st.ppid),
          String(Math.min(c, 99)),
          startTime(new Date((btime + st.starttime / CLOCK_TICKS) * 1000), now),
          ttyName(st.ttyNr),
          cpuTime(cpuSeconds),
          argv.length ? argv.join(' ') : `[${st.comm}]`,
        ],
      ]);
    } catch {
      /* the process exited while we looked */
    }
  }
  return rows.map((r) => r[1]);
}
