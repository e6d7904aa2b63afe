// The OCI image configuration as box stores it (the subset box reads; unknown fields are kept).
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Healthcheck?: ImageHealthcheck;
}

/** The image's HEALTHCHECK, as Docker stores it: Test is ["NONE"], ["CMD", arg...] or
 * ["CMD-SHELL", command]; durations in nanoseconds, 0 = inherit/default. */
export interface ImageHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ImageConfig {
  created?: string;
  architecture: string;
  os: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export function goArch(nodeArch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64', s390x: 's390x', ppc64: 'ppc64le' } as Record<string, string>)[nodeArch] ?? nodeArch;
}
