// The OCI image configuration as box stores it (the subset box reads; unknown fields are kept),
// and its check when an image comes in (pull, load): the fields box reads must have the types box
// expects, so that an image's config can never make a later command fail with a TypeError.
import { BoxError } from '../errors';

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
  /** ONBUILD triggers: Dockerfile instructions run by a build that starts FROM this image */
  OnBuild?: string[] | null;
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
  return (
    (
      {
        x64: 'amd64',
        arm64: 'arm64',
        arm: 'arm',
        ia32: '386',
        riscv64: 'riscv64',
        s390x: 's390x',
        ppc64: 'ppc64le',
      } as Record<string, string>
    )[nodeArch] ?? nodeArch
  );
}

type Check = (v: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isStrings: Check = (v) => Array.isArray(v) && v.every(isString);
/** Go writes a nil slice or map as null: accepted wherever box reads the field with a default. */
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const isStringMap: Check = (v) => isObject(v) && Object.values(v).every(isString);

/** The fields of config.config box reads, and their types; absent is always fine. */
const RUNTIME_FIELDS: Record<string, Check> = {
  User: isString,
  WorkingDir: isString,
  StopSignal: isString,
  Env: orNull(isStrings),
  Entrypoint: orNull(isStrings),
  Cmd: orNull(isStrings),
  Labels: orNull(isStringMap),
  ExposedPorts: orNull(isObject),
  Volumes: orNull(isObject),
  OnBuild: orNull(isStrings),
  Healthcheck: orNull((v) => isObject(v) && (v.Test === undefined || orNull(isStrings)(v.Test))),
};

/**
 * Parses an image config's bytes, checking what box reads: an object, rootfs.diff_ids a list of
 * strings, the runtime fields above, history a list of objects. `what` starts the error message.
 */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BoxError(`${what}: the image config is not valid JSON`);
  }
  const bad = (problem: string) => new BoxError(`${what}: the image config ${problem}`);
  if (!isObject(value)) throw bad('is not a JSON object');
  if (!isObject(value.rootfs) || !isStrings(value.rootfs.diff_ids)) throw bad('has no rootfs.diff_ids list');
  for (const key of ['architecture', 'os', 'created'] as const) {
    if (value[key] !== undefined && !isString(value[key])) throw bad(`field "${key}" is not a string`);
  }
  const history = value.history;
  if (history !== undefined && history !== null && !(Array.isArray(history) && history.every(isObject))) {
    throw bad('field "history" is not a list of objects');
  }
  const rc = value.config;
  if (rc !== undefined && rc !== null) {
    if (!isObject(rc)) throw bad('field "config" is not an object');
    for (const [key, check] of Object.entries(RUNTIME_FIELDS)) {
      if (rc[key] !== undefined && !check(rc[key])) throw bad(`field "config.${key}" has the wrong type`);
    }
  }
  return value as unknown as ImageConfig;
}
