// `box compose down`: stops and removes the project's containers (one-off runs too) and the
// networks `up` made for it, under the project's lock; -v also its named volumes (and the
// containers' anonymous ones), --remove-orphans the containers of services the files no longer have.
import { BoxError } from '../../errors';
import { Project, stopGraceSeconds } from '../../compose/model';
import { lockProject, projectContainers } from '../../compose/project-containers';
import { removeProjectNetworks } from '../../compose/networks';
import { removeProjectVolumes } from '../../compose/volumes';
import { ContainerStore } from '../../runtime/containers';
import { removeContainer, stopContainer } from '../../runtime/lifecycle';
import { ImageStore } from '../../image/store';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, str } from '../args';
import { removeImages } from '../image/rmi';
import { roots } from '../context';
import { progress } from './common';
import { composeOptions, loadComposeProject, warn } from './context';
import { NoComposeFileError } from '../../compose/project';

export const downCommand: CommandSpec = {
  paths: [['compose', 'down']],
  summary: "Stop and remove the project's containers.",
  flags: [
    { names: ['--volumes', '-v'], key: 'volumes', kind: 'bool', description: "remove the project's named volumes" },
    { names: ['--rmi'], key: 'rmi', kind: 'string', value: 'all|local', description: "remove the services' images" },
    {
      names: ['--remove-orphans'],
      key: 'removeOrphans',
      kind: 'bool',
      description: 'remove containers of services the files no longer have',
    },
    { names: ['--timeout', '-t'], key: 'timeout', kind: 'string', value: 'seconds', description: 'stop timeout' },
  ],
  positionals: [],
  async run(a) {
    const rmi = str(a, 'rmi');
    if (rmi !== undefined && rmi !== 'all' && rmi !== 'local')
      throw new BoxError(`invalid --rmi "${rmi}": use all or local`);
    const t = str(a, 'timeout');
    const timeout = t === undefined ? undefined : parseNonNegativeInt('--timeout', t);
    const project = projectForDown();
    // without its files (-p NAME only), every container of the project goes, as docker compose
    // (a service its profiles disable is the project's too: down removes its containers, as docker compose)
    const known = (service: string) =>
      project.files.length === 0 ||
      project.services[service] !== undefined ||
      project.disabledServices.includes(service);
    const r = roots();
    const store = new ContainerStore(r);
    const lock = await lockProject(r, project.name);
    try {
      const all = projectContainers(store, project.name);
      const orphans = all.filter((c) => !known(c.service));
      if (orphans.length && !bool(a, 'removeOrphans'))
        warn(
          `found orphan containers (${orphans.map((c) => c.record.name).join(', ')}): ` +
            'remove them with --remove-orphans',
        );
      const doomed = all.filter((c) => known(c.service) || bool(a, 'removeOrphans'));
      await Promise.all(
        doomed.map(async ({ record, service }) => {
          await stopContainer(r, store, record, timeout ?? stopGraceSeconds(project, service));
          progress(`Container ${record.name}  Stopped`);
        }),
      );
      for (const { record } of doomed) {
        await removeContainer(r, store, record, true, bool(a, 'volumes')); // -v: their anonymous volumes too
        progress(`Container ${record.name}  Removed`);
      }
      await removeProjectNetworks(r, project.name, progress).catch((err: unknown) => {
        if (!(err instanceof BoxError)) throw err;
        warn(err.message); // a network a kept orphan still uses stays
      });
      if (bool(a, 'volumes')) await removeProjectVolumes(r, project.name, progress);
    } finally {
      lock.release();
    }
    if (rmi === 'all') {
      const images = [...new Set(Object.values(project.services).map((s) => s.image!))];
      const present = images.filter((i) => new ImageStore(r).resolve(i) !== undefined);
      if (present.length) return removeImages(new ImageStore(r), present, false);
    }
    return 0;
  },
};

/** The project of the compose files; with -p and no file to be found, the bare project of that name. */
function projectForDown(): Project {
  try {
    return loadComposeProject();
  } catch (err) {
    const name = composeOptions.projectName;
    if (!(err instanceof NoComposeFileError) || name === undefined || composeOptions.files.length) throw err;
    return {
      name,
      workingDir: process.cwd(),
      files: [],
      services: {},
      networks: {},
      volumes: {},
      secrets: {},
      configs: {},
      disabledServices: [],
    };
  }
}
