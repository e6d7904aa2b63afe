// Loading a compose project as Docker Compose does: the files (found upwards from the working
// directory, or `-f`, `-f -`, `COMPOSE_FILE`), the environment they are interpolated with (the
// process's, over `.env` or `--env-file`), the project name and directory, then per file:
// interpolation, long forms (shape.ts) and `extends`; the files merged in order (merge.ts),
// `include`s imported, profiles applied, and the model checked and normalised (model.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { readUserText } from '../util/user-file';
import { ENV_FILE_MAX, parseDotenv } from './dotenv';
import { interpolate, interpolateTree, isPlainObject, Lookup } from './interpolate';
import { mergeValues, stripTags } from './merge';
import type { FileResource, NetworkSpec, Project, Service, VolumeSpec } from './model';
import { Shaper } from './shape';
import { parseYamlFile, YamlFile } from './yaml-file';

type Obj = Record<string, unknown>;

export interface LoadOptions {
  /** -f values, in order ("-" is stdin); none: COMPOSE_FILE, else discovery from cwd */
  files: string[];
  /** -p */
  projectName?: string;
  /** --project-directory */
  projectDirectory?: string;
  /** --env-file values; none: the project directory's .env, if any */
  envFiles: string[];
  /** --profile values; none: COMPOSE_PROFILES */
  profiles: string[];
  /** services named on the command line: enabled whatever their profiles */
  enable?: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  readStdin?: () => string;
  warn: (msg: string) => void;
}

/** The file names Docker Compose looks for, in its order of preference, and their override files. */
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
};

export const MAX_COMPOSE_FILE = 16 * 1024 * 1024;

/** The compose file of the working directory or the nearest directory above it, and its override. */
export function discoverFiles(cwd: string): string[] {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const found = DEFAULT_FILES.find((f) => fs.existsSync(path.join(dir, f)));
    if (found) {
      const over = OVERRIDE_FILES[found].find((f) => fs.existsSync(path.join(dir, f)));
      return [path.join(dir, found), ...(over ? [path.join(dir, over)] : [])];
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new NoComposeFileError(cwd);
}

/** No compose file where Docker Compose looks: `down -p NAME` can go on without one. */
export class NoComposeFileError extends BoxError {
  constructor(cwd: string) {
    super(
      `no compose file found in ${cwd} or a directory above it (${DEFAULT_FILES.join(', ')}): ` +
        'create compose.yaml or name one with -f',
    );
  }
}

const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A directory's name made a project name as Docker Compose does: lowercase, [a-z0-9_-], a letter or digit first. */
export function normaliseProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

function checkProjectName(name: string, from: string): string {
  if (VALID_NAME.test(name)) return name;
  throw new BoxError(
    `invalid project name "${name}" (${from}): use lowercase letters, digits, dashes and underscores, ` +
      'starting with a letter or digit',
  );
}

export function loadProject(o: LoadOptions): Project {
  const fromEnv = o.env.COMPOSE_FILE?.split(o.env.COMPOSE_PATH_SEPARATOR ?? ':').filter(Boolean);
  const files = o.files.length ? o.files : fromEnv?.length ? fromEnv : discoverFiles(o.cwd);
  const paths = files.map((f) => (f === '-' ? '-' : path.resolve(o.cwd, f)));
  const workingDir = path.resolve(o.cwd, o.projectDirectory ?? (paths[0] === '-' ? o.cwd : path.dirname(paths[0])));
  // The environment: the process's variables win over the env files'.
  const dotenv = readEnvFiles(
    o.envFiles.length ? o.envFiles.map((f) => path.resolve(o.cwd, f)) : [path.join(workingDir, '.env')],
    !o.envFiles.length,
    (n) => o.env[n],
    o.warn,
  );
  const vars: Record<string, string | undefined> = { ...Object.fromEntries(dotenv), ...o.env };
  const lookup: Lookup = (n) => vars[n];
  const parsed = paths.map((p) => readComposeFile(p, o.readStdin));

  // The name first: COMPOSE_PROJECT_NAME is there for interpolation.
  let name: string;
  if (o.projectName !== undefined) name = checkProjectName(o.projectName, '-p');
  else if (vars.COMPOSE_PROJECT_NAME) name = checkProjectName(vars.COMPOSE_PROJECT_NAME, 'COMPOSE_PROJECT_NAME');
  else {
    const named = parsed.filter((f) => typeof f.value.name === 'string').at(-1);
    if (named)
      name = checkProjectName(
        interpolate(named.value.name as string, lookup, `${named.name}: name`, o.warn),
        `${named.name}: name`,
      );
    else {
      name = normaliseProjectName(path.basename(workingDir));
      if (!name) throw new BoxError(`cannot make a project name from the directory ${workingDir}: give one with -p`);
    }
  }
  vars.COMPOSE_PROJECT_NAME = name;

  let model: Obj = {};
  for (const file of parsed) model = mergeValues(model, loadFile(file, workingDir, lookup, o.warn, []), []) as Obj;
  model = stripTags(model) as Obj;
  model = includeAll(model, workingDir, vars, o.warn, [paths[0]]);
  const disabled = applyProfiles(model, activeProfiles(o, vars), o.enable ?? []);
  return { ...normalise(model, name, workingDir, files, lookup), disabledServices: disabled };
}

function readEnvFiles(
  files: string[],
  optional: boolean,
  lookup: Lookup,
  warn: (m: string) => void,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    if (optional && !fs.existsSync(f)) continue;
    const text = readUserText(f, {
      what: 'env file',
      maxBytes: ENV_FILE_MAX,
      hint: 'give a readable file of NAME=VALUE lines',
    });
    for (const [k, v] of parseDotenv(text, f, (n) => out.get(n) ?? lookup(n), warn)) out.set(k, v);
  }
  return out;
}

function readComposeFile(p: string, readStdin?: () => string): YamlFile {
  if (p === '-') {
    if (!readStdin) throw new BoxError('-f - reads the compose file from stdin, which this command cannot');
    return parseYamlFile(readStdin(), 'stdin');
  }
  const text = readUserText(p, {
    what: 'compose file',
    maxBytes: MAX_COMPOSE_FILE,
    hint: 'give a readable compose file',
  });
  return parseYamlFile(text, p);
}

/** One file interpolated, in long form, with its services' `extends` resolved. */
function loadFile(file: YamlFile, baseDir: string, lookup: Lookup, warn: (m: string) => void, chain: string[]): Obj {
  const interpolated = interpolateTree(file.value, lookup, '', (m) => warn(`${file.name}: ${m}`)) as Obj;
  const shaped = new Shaper(file, baseDir, warn).top(interpolated);
  const services = shaped.services;
  if (isPlainObject(services)) {
    const resolved: Obj = {};
    const resolve = (svc: string, seen: string[]): Obj => {
      if (resolved[svc]) return resolved[svc] as Obj;
      const s = services[svc];
      if (!isPlainObject(s)) return s as Obj;
      const ext = s.extends as { service: string; file?: string } | undefined;
      if (!ext) return (resolved[svc] = s);
      if (seen.includes(svc))
        throw new BoxError(`${file.name}: services.${svc}.extends: a cycle (${[...seen, svc].join(' -> ')})`);
      let base: Obj;
      if (ext.file) {
        const other = path.resolve(file.name === 'stdin' ? baseDir : path.dirname(file.name), ext.file);
        const key = `${other}#${ext.service}`;
        if (chain.includes(key)) throw new BoxError(`${file.name}: services.${svc}.extends: a cycle through ${other}`);
        const loaded = loadFile(readComposeFile(other), path.dirname(other), lookup, warn, [...chain, key]);
        const found = (loaded.services as Obj | undefined)?.[ext.service];
        if (!isPlainObject(found))
          throw new BoxError(`${file.name}: services.${svc}.extends: no service "${ext.service}" in ${other}`);
        base = found;
      } else {
        if (!isPlainObject(services[ext.service]))
          throw new BoxError(`${file.name}: services.${svc}.extends: no service "${ext.service}" in this file`);
        base = resolve(ext.service, [...seen, svc]);
      }
      const { extends: _, ...local } = s;
      return (resolved[svc] = mergeValues(stripTags(base), local, ['services', svc]) as Obj);
    };
    shaped.services = Object.fromEntries(Object.keys(services).map((svc) => [svc, resolve(svc, [])]));
  }
  return shaped;
}

/** `include:` entries imported: each a project of its own (own directory and env), its resources copied in. */
function includeAll(
  model: Obj,
  workingDir: string,
  vars: Record<string, string | undefined>,
  warn: (m: string) => void,
  chain: string[],
): Obj {
  const entries = model.include;
  delete model.include;
  if (entries === undefined || entries === null) return model;
  if (!Array.isArray(entries)) throw new BoxError(`include: expected a list of files`);
  for (const entry of entries) {
    const e = typeof entry === 'string' ? { path: entry } : isPlainObject(entry) ? entry : {};
    const files = (Array.isArray(e.path) ? e.path : [e.path]).map(String);
    if (!files.length || files.some((f) => f === 'undefined')) throw new BoxError('include: each entry needs a path');
    const abs = files.map((f) => path.resolve(workingDir, f));
    if (chain.includes(abs[0]))
      throw new BoxError(`include: ${abs[0]} includes itself (${[...chain, abs[0]].join(' -> ')})`);
    const dir = path.resolve(
      workingDir,
      typeof e.project_directory === 'string' ? e.project_directory : path.dirname(abs[0]),
    );
    const envFiles =
      e.env_file === undefined
        ? [path.join(dir, '.env')]
        : (Array.isArray(e.env_file) ? e.env_file : [e.env_file]).map((f) => path.resolve(workingDir, String(f)));
    const own = readEnvFiles(envFiles, e.env_file === undefined, (n) => vars[n], warn);
    const incVars = { ...Object.fromEntries(own), ...vars }; // the including project's variables win
    let sub: Obj = {};
    for (const f of abs)
      sub = mergeValues(
        sub,
        loadFile(readComposeFile(f), dir, (n) => incVars[n], warn, []),
        [],
      ) as Obj;
    sub = includeAll(stripTags(sub) as Obj, dir, incVars, warn, [...chain, abs[0]]);
    for (const kind of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
      const from = (sub[kind] ?? {}) as Obj;
      const into = (model[kind] ??= {}) as Obj;
      for (const [k, v] of Object.entries(from)) {
        if (k in into)
          warn(`include: ${kind.slice(0, -1)} "${k}" of ${abs[0]} is already defined: the local one is kept`);
        else into[k] = v;
      }
    }
  }
  return model;
}

function activeProfiles(o: LoadOptions, vars: Record<string, string | undefined>): Set<string> {
  const list = o.profiles.length ? o.profiles : (vars.COMPOSE_PROFILES ?? '').split(',');
  return new Set(list.map((p) => p.trim()).filter(Boolean));
}

/**
 * Services whose profiles are all inactive are left out (their names returned), unless named; a
 * required dependency on one is an error.
 */
function applyProfiles(model: Obj, active: Set<string>, enable: string[]): string[] {
  const all = (model.services ?? {}) as Record<string, Service>;
  const enabled = (name: string, s: Service) =>
    !s.profiles?.length || enable.includes(name) || active.has('*') || s.profiles.some((p) => active.has(p));
  const kept: Record<string, Service> = {};
  for (const [name, s] of Object.entries(all)) if (enabled(name, s)) kept[name] = s;
  for (const [name, s] of Object.entries(kept)) {
    for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
      if (kept[dep]) continue;
      if (d.required && !all[dep])
        throw new BoxError(
          `service "${name}" depends on undefined service "${dep}": define it or remove the dependency`,
        );
      if (d.required)
        throw new BoxError(
          `service "${name}" depends on "${dep}", which its profiles disable: activate one with --profile`,
        );
      delete s.depends_on![dep];
    }
  }
  model.services = kept;
  return Object.keys(all).filter((name) => !kept[name]);
}

/** The merged model checked (references) and completed (env files, default network, resource names). */
function normalise(
  model: Obj,
  name: string,
  workingDir: string,
  files: string[],
  lookup: Lookup,
): Omit<Project, 'disabledServices'> {
  const services = (model.services ?? {}) as Record<string, Obj>;
  if (!Object.keys(services).length)
    throw new BoxError(`${files.join(', ')}: no services defined: add a services: key`);
  const project: Omit<Project, 'disabledServices'> = {
    name,
    workingDir,
    files,
    services: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
  };
  for (const [kind, target] of [
    ['networks', project.networks],
    ['volumes', project.volumes],
  ] as const) {
    for (const [key, r] of Object.entries((model[kind] ?? {}) as Record<string, Obj>)) {
      const n = { ...r } as unknown as NetworkSpec & VolumeSpec;
      n.name = typeof r.name === 'string' ? r.name : r.external ? key : `${name}_${key}`;
      target[key] = n;
    }
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [key, r] of Object.entries((model[kind] ?? {}) as Record<string, Obj>)) {
      if (r.external) throw new BoxError(`${kind}.${key}: external ${kind} are not supported by box: give a file`);
      if (r.file === undefined && r.environment === undefined && r.content === undefined)
        throw new BoxError(`${kind}.${key}: give a file (or environment${kind === 'configs' ? ', content' : ''})`);
      project[kind][key] = { ...r, name: typeof r.name === 'string' ? r.name : `${name}_${key}` } as FileResource;
    }
  }
  for (const svc of Object.keys(services).sort()) {
    const s = services[svc] as Service & {
      env_file?: { path: string; required: boolean }[];
      environment?: Record<string, string | null>;
    };
    const where = `service "${svc}"`;
    if (!s.image) throw new BoxError(`${where} has no image: give one (box does not build images)`);
    const env: Record<string, string> = {};
    for (const f of s.env_file ?? []) {
      if (!f.required && !fs.existsSync(f.path)) continue;
      const text = readUserText(f.path, {
        what: `env_file of ${where}`,
        maxBytes: ENV_FILE_MAX,
        hint: 'give a readable file of NAME=VALUE lines',
      });
      for (const [k, v] of parseDotenv(text, f.path, lookup)) env[k] = v;
    }
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      const value = v ?? lookup(k); // a bare NAME takes its value from the environment, or is left out
      if (value === undefined) delete env[k];
      else env[k] = value;
    }
    const { env_file: _, ...rest } = s;
    const out: Service = { ...rest, environment: env };
    if (!Object.keys(env).length) delete out.environment;
    if (!out.network_mode && !out.networks) out.networks = { default: null };
    if (out.network_mode && out.networks) throw new BoxError(`${where}: network_mode and networks cannot both be set`);
    for (const n of Object.keys(out.networks ?? {})) {
      if (n === 'default' && !project.networks.default) project.networks.default = { name: `${name}_default` };
      if (!project.networks[n])
        throw new BoxError(`${where} uses network "${n}", which is not declared under networks:`);
    }
    for (const v of out.volumes ?? []) {
      if (v.type === 'volume' && v.source && !project.volumes[v.source])
        throw new BoxError(`${where} uses volume "${v.source}", which is not declared under volumes:`);
    }
    for (const kind of ['secrets', 'configs'] as const) {
      for (const r of out[kind] ?? [])
        if (!project[kind][r.source])
          throw new BoxError(`${where} uses ${kind.slice(0, -1)} "${r.source}", which is not declared under ${kind}:`);
    }
    for (const dep of Object.keys(out.depends_on ?? {}))
      if (dep === svc) throw new BoxError(`${where} depends on itself`);
    project.services[svc] = out;
  }
  checkCycles(project);
  return project;
}

function checkCycles(project: Pick<Project, 'services'>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: string, trail: string[]) => {
    if (state.get(s) === 'done') return;
    if (state.get(s) === 'visiting') throw new BoxError(`dependency cycle: ${[...trail, s].join(' -> ')}`);
    state.set(s, 'visiting');
    for (const d of Object.keys(project.services[s]?.depends_on ?? {}))
      if (project.services[d]) visit(d, [...trail, s]);
    state.set(s, 'done');
  };
  for (const s of Object.keys(project.services)) visit(s, []);
}
