// `box push`: sends an image to a registry, by the name it has here.
import { BoxError } from '../../errors';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { parseTlsVerify, TLS_FLAG } from '../../image/registry/tls-flag';

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

export const pushCommand: CommandSpec = {
  paths: [['push'], ['image', 'push']],
  summary: 'Push an image to a registry (by the name it has here: tag it first).',
  flags: [{ names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'print nothing but errors' }, TLS_FLAG],
  positionals: [{ name: 'NAME[:TAG]' }],
  examples: ['box tag app:1 registry.local:5000/team/app:1 && box push registry.local:5000/team/app:1'],
  async run(a) {
    const { pushImage } = await import('../../image/registry/push');
    const { findCredentials } = await import('../../image/registry/credentials');
    const { parseRemoteRef } = await import('../../image/registry/reference');
    const { ImageStore } = await import('../../image/store');
    const ref = a.positionals[0];
    const remote = parseRemoteRef(ref);
    const quiet = bool(a, 'quiet');
    const out = (s: string) => quiet || process.stdout.write(s);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await pushImage(new ImageStore(roots()), ref, {
        tlsVerify: parseTlsVerify(str(a, 'tlsVerify')),
        credentials: findCredentials(remote.registry),
        signal: abort.signal,
        onEvent: (e) => {
          switch (e.type) {
            case 'resolved':
              return out(`The push refers to repository [${e.ref.replace(/:[^:/]*$/, '')}]\n`);
            case 'layer-exists':
              return out(`${short(e.diffId)}: Layer already exists\n`);
            case 'layer-pushing':
              return out(`${short(e.diffId)}: Pushing ${e.size} bytes\n`);
            case 'layer-pushed':
              return out(`${short(e.diffId)}: Pushed\n`);
            case 'done':
              return out(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
          }
        },
      });
    } catch (err) {
      if (abort.signal.aborted) throw new BoxError(`push ${ref}: interrupted`, 130);
      throw err instanceof BoxError ? err : new BoxError(`push ${ref}: ${(err as Error).message}`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
