// `--tls-verify=true|false`, shared by the commands that talk to registries (pull, push, login,
// and run/create for --pull). A file of its own: run must not load the registry client to parse it.
import { BoxError } from '../../errors';
import { FlagSpec } from '../../util/flag-table';

export const TLS_FLAG = {
  names: ['--tls-verify'],
  key: 'tlsVerify',
  kind: 'string',
  value: 'bool',
  description:
    'false: accept any certificate and plain http for this registry (loopback registries may always use plain http)',
} as const satisfies FlagSpec;

/** The --tls-verify value: undefined when not given (the registry client's default applies). */
export function parseTlsVerify(tls: string | undefined): boolean | undefined {
  if (tls === undefined) return undefined;
  if (tls !== 'true' && tls !== 'false')
    throw new BoxError(`invalid value "${tls}" for --tls-verify: use true or false`);
  return tls === 'true';
}
