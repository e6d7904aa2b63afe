// A container record read back from disk is checked before anything uses it: its fields have the
// types box writes, its id is the directory it was read from and its name a valid name. A record
// someone truncated, garbled or forged (a `null` where an object belongs, an id of `../../x`) is
// reported as damaged, with the first problem found, instead of crashing a command or naming paths.
import { CONTAINER_ID_RE } from '../paths';
import { ContainerRecord } from '../model';
import { NAME_RE } from './names';

/** Checks a value; returns a problem ("state.status: expected ...") or undefined. */
type Check = (v: unknown, at: string) => string | undefined;

const expected = (what: string, at: string, v: unknown) =>
  `${at}: expected ${what}, found ${v === null ? 'null' : typeof v}`;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const str: Check = (v, at) => (typeof v === 'string' ? undefined : expected('a string', at, v));
const num: Check = (v, at) => (typeof v === 'number' && Number.isFinite(v) ? undefined : expected('a number', at, v));
const bool: Check = (v, at) => (typeof v === 'boolean' ? undefined : expected('true or false', at, v));
const anyObject: Check = (v, at) => (isObject(v) ? undefined : expected('an object', at, v));
const matching =
  (re: RegExp, what: string): Check =>
  (v, at) =>
    str(v, at) ?? (re.test(v as string) ? undefined : `${at}: not ${what}`);
const oneOf =
  (...values: unknown[]): Check =>
  (v, at) =>
    values.includes(v) ? undefined : `${at}: expected one of ${values.join(', ')}`;
const optional =
  (check: Check): Check =>
  (v, at) =>
    v === undefined ? undefined : check(v, at);
const nullable =
  (check: Check): Check =>
  (v, at) =>
    v === null ? undefined : check(v, at);

function arrayOf(check: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return expected('a list', at, v);
    for (let i = 0; i < v.length; i++) {
      const problem = check(v[i], `${at}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

function dictOf(check: Check): Check {
  return (v, at) => {
    if (!isObject(v)) return expected('an object', at, v);
    for (const [k, x] of Object.entries(v)) {
      const problem = check(x, `${at}.${k}`);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** An object with these fields (others are let through: a newer box may have added some). */
function fields(shape: Record<string, Check>): Check {
  return (v, at) => {
    if (!isObject(v)) return expected('an object', at, v);
    for (const [k, check] of Object.entries(shape)) {
      const problem = check(v[k], at ? `${at}.${k}` : k);
      if (problem) return problem;
    }
    return undefined;
  };
}

const strings = arrayOf(str);
// Layer and image ids name paths in the image store.
const DIGEST = matching(/^sha256:[0-9a-f]{64}$/, 'a sha256 digest');

// The image's own configuration, as the image gave it: Docker's null for an empty field is fine.
const maybe = (check: Check) => optional(nullable(check));
const imageConfig = fields({
  User: maybe(str),
  Env: maybe(strings),
  Entrypoint: maybe(strings),
  Cmd: maybe(strings),
  WorkingDir: maybe(str),
  Labels: maybe(dictOf(str)),
  StopSignal: maybe(str),
  ExposedPorts: maybe(anyObject),
  Volumes: maybe(anyObject),
  Healthcheck: maybe(anyObject),
});

const config = fields({
  image: fields({
    ref: str,
    id: DIGEST,
    reference: optional(str),
    digest: optional(str),
    config: optional(imageConfig),
  }),
  layers: arrayOf(DIGEST),
  hostname: str,
  args: strings,
  entrypoint: strings,
  cmd: strings,
  env: strings,
  workingDir: str,
  user: fields({ spec: str, uid: num, gid: num, additionalGids: arrayOf(num) }),
  tty: bool,
  openStdin: bool,
  stdinOnce: optional(bool),
  network: str,
  networks: optional(
    arrayOf(
      fields({
        networkId: matching(CONTAINER_ID_RE, 'a network id (64 hex digits)'),
        name: str,
        aliases: strings,
        ip: optional(str),
        mac: optional(str),
      }),
    ),
  ),
  dns: optional(fields({ servers: strings, search: strings, options: strings })),
  extraHosts: optional(strings),
  portBindings: optional(arrayOf(fields({ containerPort: num, protocol: str, hostIp: str, hostPort: str }))),
  ports: optional(arrayOf(fields({ hostIp: str, hostPort: num, containerPort: num, protocol: oneOf('tcp', 'udp') }))),
  readOnly: bool,
  init: bool,
  privileged: bool,
  capAdd: strings,
  capDrop: strings,
  noNewPrivileges: bool,
  seccomp: str,
  seccompProfile: optional(str),
  ulimits: arrayOf(fields({ name: str, soft: num, hard: num })),
  limits: fields({
    memory: optional(num),
    memorySwap: optional(num),
    memoryReservation: optional(num),
    cpuQuota: optional(num),
    cpuPeriod: optional(num),
    cpuShares: optional(num),
    cpusetCpus: optional(str),
    cpusetMems: optional(str),
    pidsLimit: optional(num),
  }),
  labels: dictOf(str),
  stopSignal: optional(str),
  restart: optional(fields({ name: str, maxRetries: num, baseMs: num, maxMs: num, resetMs: num })),
  log: optional(fields({ maxSize: num, maxFile: num })),
  healthcheck: optional(
    fields({
      test: strings,
      interval: num,
      timeout: num,
      startPeriod: num,
      startInterval: num,
      retries: num,
      onFailure: str,
    }),
  ),
  mounts: optional(
    arrayOf(
      fields({
        type: oneOf('bind', 'volume', 'tmpfs'),
        source: str,
        target: matching(/^\//, 'an absolute path'),
        readOnly: bool,
        propagation: optional(oneOf('rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave')),
        nonRecursive: optional(bool),
        noCopy: optional(bool),
        anonymous: optional(bool),
        hostSource: optional(str),
        tmpfsOptions: optional(str),
        origin: oneOf('v', 'mount', 'tmpfs', 'image', 'build'),
        spec: optional(str),
        buildSource: optional(str),
      }),
    ),
  ),
});

const state = fields({
  status: oneOf('created', 'running', 'exited', 'dead', 'removing'),
  pid: optional(num),
  monitorPid: optional(num),
  stoppedByUser: optional(bool),
  restartCount: optional(num),
  restartDelayMs: optional(num),
  restarting: optional(bool),
  nextRestartAt: optional(str),
  backoffToken: optional(str),
  exitCode: optional(num),
  oomKilled: optional(bool),
  error: optional(str),
  startedAt: optional(str),
  finishedAt: optional(str),
});

const record = fields({
  version: oneOf(1),
  id: matching(CONTAINER_ID_RE, 'a container id (64 hex digits)'),
  name: matching(NAME_RE, 'a container name'),
  created: str,
  autoRemove: bool,
  config,
  state,
  admittedBy: optional(
    arrayOf(
      fields({
        name: str,
        source: str,
        sha256: str,
        mode: str,
        decision: str,
        applied: strings,
        warnings: strings,
      }),
    ),
  ),
  noDefaultPolicies: optional(oneOf(true)),
});

/**
 * The record in `text`, read from the directory of container `dirId`; a string saying what is
 * wrong with it otherwise.
 */
export function parseRecord(dirId: string, text: string): ContainerRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'the record is empty' : 'the record is not valid JSON (truncated or garbled)';
  }
  if (!isObject(value)) return 'the record is not a JSON object';
  const problem = record(value, '');
  if (problem) return problem;
  const r = value as unknown as ContainerRecord;
  if (r.id !== dirId) return `id: ${JSON.stringify(r.id)} is not the id of its directory`;
  return r;
}
