// The options of a config.json mount (runtime-spec "Mounts", mount(8)'s words) as mount(2) takes
// them: MS_* flags, propagation flags, and the rest as the file system's data string. Options box
// cannot honour (recursive read-only, id-mapped mounts, crun's tmpcopyup) are refused by name.
import { SpecFieldError } from './json-fields';

const MS_REC = 16384;

/** word → [flags to set, flags to clear] */
const FLAGS: Record<string, [number, number]> = {
  ro: [1, 0],
  rw: [0, 1],
  nosuid: [2, 0],
  suid: [0, 2],
  nodev: [4, 0],
  dev: [0, 4],
  noexec: [8, 0],
  exec: [0, 8],
  sync: [16, 0],
  async: [0, 16],
  mand: [64, 0],
  nomand: [0, 64],
  dirsync: [128, 0],
  noatime: [1024, 0],
  atime: [0, 1024],
  nodiratime: [2048, 0],
  diratime: [0, 2048],
  relatime: [1 << 21, 0],
  norelatime: [0, 1 << 21],
  strictatime: [1 << 24, 0],
  nostrictatime: [0, 1 << 24],
  lazytime: [1 << 25, 0],
  nolazytime: [0, 1 << 25],
  bind: [4096, 0],
  rbind: [4096 | MS_REC, 0],
};

const PROPAGATION: Record<string, number> = {
  private: 1 << 18,
  rprivate: (1 << 18) | MS_REC,
  slave: 1 << 19,
  rslave: (1 << 19) | MS_REC,
  shared: 1 << 20,
  rshared: (1 << 20) | MS_REC,
  unbindable: 1 << 17,
  runbindable: (1 << 17) | MS_REC,
};

const REFUSED: Record<string, string> = {
  remount: 'a config.json mount cannot remount',
  tmpcopyup: "crun's tmpcopyup is not supported",
  idmap: 'id-mapped mounts are not supported yet',
  ridmap: 'id-mapped mounts are not supported yet',
  nosymfollow: 'box cannot set nosymfollow yet',
  symfollow: 'box cannot set nosymfollow yet',
  copy_symlink: "crun's copy-symlink is not supported",
};

/** Every option word box-runc takes (the file system's own options pass through besides). */
export const MOUNT_OPTION_WORDS: readonly string[] = [...Object.keys(FLAGS), ...Object.keys(PROPAGATION)];

export interface MountOptions {
  /** MS_* flags, without propagation */
  flags: number;
  /** MS_* propagation flags applied after the mount (0: none) */
  propagation: number;
  /** the file system's own options, comma-separated */
  data: string;
  bind: boolean;
}

export function parseMountOptions(options: string[], field: string): MountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  options.forEach((opt, i) => {
    if (Object.hasOwn(FLAGS, opt)) {
      const [set, clear] = FLAGS[opt];
      flags = (flags & ~clear) | set;
    } else if (Object.hasOwn(PROPAGATION, opt)) propagation = PROPAGATION[opt];
    else if (Object.hasOwn(REFUSED, opt)) throw new SpecFieldError(`${field}[${i}]`, `${opt}: ${REFUSED[opt]}`);
    else if (/^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec|atime|noatime|relatime|strictatime|nodiratime)$/.test(opt)) {
      throw new SpecFieldError(`${field}[${i}]`, `${opt}: recursive mount attributes are not supported yet`);
    } else if (opt.startsWith('X-') || opt.startsWith('x-')) {
      /* mount(8)'s comments for user space (x-systemd.*, ...): never given to the kernel */
    } else if (opt.includes(',')) throw new SpecFieldError(`${field}[${i}]`, 'one option per entry');
    else data.push(opt);
  });
  return { flags, propagation, data: data.join(','), bind: (flags & 4096) !== 0 };
}
