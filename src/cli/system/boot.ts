// `box system boot` starts, after a reboot, the containers whose restart policy asks for it
// (always, and unless-stopped when the user had not stopped them); `box system install-unit`
// writes a systemd unit that runs it at boot. No daemon: the unit runs box once and box exits.
// A compose project's containers start in dependency order, each once its conditions hold.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSea } from '../../assets';
import { BoxError } from '../../errors';
import { ContainerStore } from '../../runtime/containers';
import { startExisting } from '../../runtime/detach';
import { refresh } from '../../runtime/lifecycle';
import { bootProject } from '../../compose/boot';
import { LABEL } from '../../compose/service-flags';
import type { ContainerRecord } from '../../model';
import { CommandSpec, str } from '../args';
import { roots } from '../context';

export const bootCommand: CommandSpec = {
  paths: [['system', 'boot']],
  summary: 'Start the containers whose restart policy is always or unless-stopped (run at boot).',
  flags: [],
  positionals: [],
  async run() {
    const r = roots();
    const store = new ContainerStore(r);
    let code = 0;
    const start = async (c: ContainerRecord) => {
      const started = await startExisting(r, store, c, (m) => process.stderr.write(`box: ${c.name}: ${m}\n`));
      if (started === 0) process.stdout.write(`${c.name}\n`);
      return started === 0;
    };
    const projects = new Map<string, ContainerRecord[]>();
    for (const rec of store.list()) {
      const c = await refresh(r, store, rec); // running records whose monitor is gone (a reboot) end here
      const policy = c.config.restart?.name ?? 'no';
      if (c.state.status === 'running') continue;
      if (policy !== 'always' && !(policy === 'unless-stopped' && !c.state.stoppedByUser)) continue;
      // a compose project's containers start in dependency order, honouring the conditions
      const project = c.config.labels[LABEL.project];
      if (project !== undefined) projects.set(project, [...(projects.get(project) ?? []), c]);
      else if (!(await start(c))) code = 1;
    }
    const warn = (m: string) => process.stderr.write(`box: ${m}\n`);
    const failed = await Promise.all([...projects].map(([p, cs]) => bootProject(r, store, p, cs, start, warn)));
    return failed.some((n) => n > 0) ? 1 : code;
  },
};

export function unitText(boxArgv: string[]): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\$`])/g, '\\$1')}"`);
  return [
    '[Unit]',
    'Description=Start box containers with restart policy always or unless-stopped',
    'After=local-fs.target network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${[...boxArgv, 'system', 'boot'].map(q).join(' ')}`,
    'RemainAfterExit=no',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export const installUnitCommand: CommandSpec = {
  paths: [['system', 'install-unit']],
  summary: 'Write a systemd unit that runs `box system boot` at boot (enable it with systemctl enable box.service).',
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'file',
      description: 'where to write it (default /etc/systemd/system/box.service)',
    },
  ],
  positionals: [],
  async run(a) {
    if (!isSea())
      throw new BoxError('install-unit needs the single executable (dist/box): the unit runs it by its path');
    const r = roots();
    const out = path.resolve(str(a, 'output') ?? '/etc/systemd/system/box.service');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, unitText([process.execPath, '--root', r.root, '--runroot', r.runroot]), { mode: 0o644 });
    process.stdout.write(`${out}\n`);
    return 0;
  },
};
