// The flags of `box run` and `box create`, declared once: this table gives their parsing and help
// (cli/ hands it to the parser) and the RunFlags type that run-options.ts resolves and checks. A
// new flag is one entry here; its value reaches CreateRequest.flags by its key.
import { TLS_FLAG } from '../image/registry/tls-flag';
import type { AdmissionFlags } from '../policy/admission';
import { FlagSpec, flagValues, FlagValues, ParsedFlags } from '../util/flag-table';

const s = <K extends string>(names: string[], key: K, description: string, value = 'string') =>
  ({ names, key, kind: 'string', description, value }) as const satisfies FlagSpec<K>;
const b = <K extends string>(names: string[], key: K, description: string) =>
  ({ names, key, kind: 'bool', description }) as const satisfies FlagSpec<K>;
const l = <K extends string>(names: string[], key: K, description: string, value = 'string') =>
  ({ names, key, kind: 'list', description, value }) as const satisfies FlagSpec<K>;

export const RUN_FLAGS = [
  s(['--name'], 'name', 'assign a name to the container'),
  s(['--hostname', '-h'], 'hostname', 'container host name'),
  l(['--env', '-e'], 'env', "set an environment variable (NAME=VALUE, or NAME to pass box's own)", 'NAME=VALUE'),
  l(['--env-file'], 'envFile', 'read environment variables from a file', 'file'),
  s(['--workdir', '-w'], 'workdir', 'working directory inside the container', 'dir'),
  s(['--user', '-u'], 'user', 'user[:group], names or numbers', 'user'),
  s(['--entrypoint'], 'entrypoint', "override the image's entrypoint", 'cmd'),
  b(['--tty', '-t'], 'tty', 'allocate a pseudo-terminal'),
  b(['--interactive', '-i'], 'interactive', 'keep standard input open'),
  s(['--network', '--net'], 'network', 'bridge (default), none, host or the name of a network', 'network'),
  l(['--publish', '-p'], 'publish', "publish a container's port on the host", '[ip:][host:]port[/proto]'),
  b(['--publish-all', '-P'], 'publishAll', 'publish every port the image exposes on a random host port'),
  s(['--ip'], 'ip', "the container's IPv4 address on its network", 'address'),
  s(['--mac-address'], 'macAddress', "the container's MAC address on its network", 'mac'),
  l(['--network-alias', '--net-alias'], 'networkAlias', "another name for the container on its network's DNS", 'name'),
  l(['--add-host'], 'addHost', 'add a line to /etc/hosts (NAME:ADDRESS)', 'host:ip'),
  l(['--dns'], 'dns', 'a DNS server for the container (instead of the defaults)', 'address'),
  l(['--dns-search'], 'dnsSearch', 'a DNS search domain', 'domain'),
  l(['--dns-option', '--dns-opt'], 'dnsOption', 'a resolv.conf option (e.g. ndots:2)', 'option'),
  b(['--read-only'], 'readOnly', 'mount the root filesystem read-only'),
  b(['--init'], 'init', 'run an init as PID 1 that forwards signals and reaps zombies'),
  b(['--privileged'], 'privileged', 'give the container all capabilities and no confinement'),
  l(['--cap-add'], 'capAdd', 'add a Linux capability', 'cap'),
  l(['--cap-drop'], 'capDrop', 'drop a Linux capability', 'cap'),
  l(['--security-opt'], 'securityOpt', 'no-new-privileges[=false], seccomp=unconfined or seccomp=PROFILE.json', 'opt'),
  l(['--ulimit'], 'ulimit', 'resource limit NAME=SOFT[:HARD]', 'limit'),
  s(['--memory', '-m'], 'memory', 'memory limit (e.g. 256m)', 'bytes'),
  s(['--memory-swap'], 'memorySwap', 'memory plus swap limit, -1 for unlimited swap', 'bytes'),
  s(['--memory-reservation'], 'memoryReservation', 'memory soft limit', 'bytes'),
  s(['--cpus'], 'cpus', 'number of CPUs (e.g. 1.5)', 'n'),
  s(['--cpu-shares', '-c'], 'cpuShares', 'CPU shares (relative weight)', 'n'),
  s(['--cpu-period'], 'cpuPeriod', 'CFS period in microseconds', 'us'),
  s(['--cpu-quota'], 'cpuQuota', 'CFS quota in microseconds', 'us'),
  s(['--cpuset-cpus'], 'cpusetCpus', 'CPUs allowed (e.g. 0-1)', 'list'),
  s(['--pids-limit'], 'pidsLimit', 'maximum number of processes (-1 for unlimited)', 'n'),
  l(['--label', '-l'], 'label', 'set a metadata label', 'KEY=VALUE'),
  b(['--rm'], 'rm', 'remove the container when it exits'),
  s(['--health-cmd'], 'healthCmd', 'command to run to check health (run with /bin/sh -c in the container)', 'cmd'),
  s(['--health-interval'], 'healthInterval', 'time between running the check (default 30s)', 'duration'),
  s(['--health-timeout'], 'healthTimeout', 'maximum time to allow one check to run (default 30s)', 'duration'),
  s(['--health-retries'], 'healthRetries', 'consecutive failures needed to report unhealthy (default 3)', 'n'),
  s(
    ['--health-start-period'],
    'healthStartPeriod',
    'start period for the container to initialize before failures count (default 0s)',
    'duration',
  ),
  s(
    ['--health-start-interval'],
    'healthStartInterval',
    'time between running the check during the start period (default 5s)',
    'duration',
  ),
  b(['--no-healthcheck'], 'noHealthcheck', 'disable any container-specified HEALTHCHECK'),
  s(
    ['--health-on-failure'],
    'healthOnFailure',
    'action when the container becomes unhealthy: none (default), kill, restart, stop',
    'action',
  ),
  b(['--detach', '-d'], 'detach', 'run in the background and print the container id'),
  s(['--stop-signal'], 'stopSignal', "signal that stop sends first (default: the image's, else SIGTERM)", 'signal'),
  s(
    ['--restart'],
    'restart',
    'restart policy of a detached container: no, on-failure[:N], always, unless-stopped',
    'policy',
  ),
  s(
    ['--restart-delay'],
    'restartDelay',
    'restart back-off: first delay, maximum, reset after (default 100ms,1m,10s)',
    'base[,max[,reset]]',
  ),
  l(['--log-opt'], 'logOpt', 'json-file log option: max-size=SIZE, max-file=N', 'opt'),
  s(['--pull'], 'pull', 'pull the image: missing (default: when it is not in the store), always, never', 'policy'),
  TLS_FLAG,
  l(
    ['--policy'],
    'policy',
    'admission policy: a built-in (baseline, strict, capacity) or a .wasm component, optionally :warn or :audit',
    'ref',
  ),
  l(['--policy-arg'], 'policyArg', 'argument for the policies', 'KEY=VALUE'),
  s(['--policy-timeout'], 'policyTimeout', 'time limit of one policy evaluation (default 250ms)', 'duration'),
  s(
    ['--policy-failure'],
    'policyFailure',
    'deny (default): a failing policy refuses the start; ignore: it only warns',
    'mode',
  ),
  b(
    ['--no-default-policies'],
    'noDefaultPolicies',
    'skip the policies of /etc/box/policies.d, <root>/policies.d and $BOX_POLICY (root only)',
  ),
  l(['--volume', '-v'], 'volume', 'bind mount or volume: [SOURCE:]TARGET[:ro,nocopy,rshared...]', 'spec'),
  l(['--mount'], 'mount', 'mount: type=bind|volume|tmpfs,source=,target=,readonly,...', 'spec'),
  l(['--tmpfs'], 'tmpfs', 'tmpfs mount: /path[:size=64m,mode=1777,...]', 'spec'),
  l(['--volumes-from'], 'volumesFrom', "mount another container's volumes and binds: CONTAINER[:ro|rw]", 'container'),
] as const;

/** The values of every run flag: bools false and lists empty unless given, strings absent. */
export type RunFlags = FlagValues<typeof RUN_FLAGS>;

/** RunFlags from the parser's output (or, in tests, from the few flags that matter). */
export function runFlagsFrom(parsed: ParsedFlags): RunFlags {
  return flagValues(RUN_FLAGS, parsed);
}

/** The admission flags (--policy and friends): `box compose up`, `create` and `run` take them too. */
const POLICY_KEYS: readonly string[] = ['policy', 'policyArg', 'policyTimeout', 'policyFailure', 'noDefaultPolicies'];
export const POLICY_FLAGS: readonly FlagSpec[] = RUN_FLAGS.filter((f) => POLICY_KEYS.includes(f.key));

/** What the admission flags ask of the policies that judge a new container. */
export function admissionFlagsFrom(parsed: ParsedFlags): AdmissionFlags {
  const f = runFlagsFrom(parsed);
  return {
    policies: f.policy,
    args: f.policyArg,
    timeout: f.policyTimeout,
    failure: f.policyFailure,
    noDefaults: f.noDefaultPolicies,
  };
}
