// The huge page sizes the host offers, named as the hugetlb cgroup controller names its files
// (hugetlb.2MB.max, hugetlb.1GB.limit_in_bytes) and the runtime-spec's hugepageLimits[].pageSize.
import * as fs from 'node:fs';

const UNITS = ['KB', 'MB', 'GB', 'TB', 'PB'];

/** "2048kB" (a /sys/kernel/mm/hugepages entry's size) → "2MB"; the kernel's own naming. */
export function hugepageSizeName(kib: number): string {
  let size = kib;
  let unit = 0;
  while (size >= 1024 && size % 1024 === 0 && unit < UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size}${UNITS[unit]}`;
}

/** The sizes of /sys/kernel/mm/hugepages (hugepages-2048kB ...), named: ["2MB", "1GB"]. */
export function hostHugepageSizes(dir = '/sys/kernel/mm/hugepages'): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return []; // a kernel without hugetlbfs
  }
  return entries.flatMap((e) => {
    const m = /^hugepages-(\d+)kB$/.exec(e);
    return m ? [hugepageSizeName(Number(m[1]))] : [];
  });
}
