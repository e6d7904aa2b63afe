// `box build`'s executor: the stages the target needs, in order, each instruction applied to the
// stage's state (its image config: layers, runtime config, history). A step's result is looked up
// in the cache first (src/build/cache.ts); config-only steps make empty layers in the history,
// RUN and COPY make layers. The final state becomes an image with Docker's config and history.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { ImageConfig, goArch } from '../image/config';
import { ImageRef } from '../image/reference';
import { storeLock } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { layout, Roots } from '../paths';
import { mkdirp } from '../util/fs';
import { mark } from '../util/trace';
import { ownedName } from '../util/owner';
import { LayerStack } from '../runtime/diff';
import { DEFAULT_PATH, mergeEnv } from '../runtime/run-options';
import { parseOwner } from './owner';
import { BuildCache, CacheEntry, stateKey, stepKey } from './cache';
import { applyConfigStep, DEFAULT_SHELL, onBuildTrigger, StageVars } from './config-steps';
import { isArchive, unpackArchive } from './archive';
import { copyEntries, entriesDigest, SourceTree } from './copy';
import { fetchUrlSources, isUrlSource } from './fetch-url';
import { Dockerfile, dockerfileError, Instruction } from './dockerfile';
import { storeEntries } from './layer-tar';
import { IgnoreRules } from './patterns';
import { Progress, StepProgress } from './progress';
import { mountFroms, parseRunMounts, removeDeadMountSources, RunMount, SecretSource, StepMounts } from './run-mounts';
import { removeDeadSteps, runStep } from './run-step';
import { Vars, word, words } from './substitute';
import { isoTime } from '../util/iso-time';

export interface BuildOptions {
  roots: Roots;
  dockerfile: Dockerfile;
  /** the context directory; undefined for a Dockerfile on standard input with no context */
  context?: string;
  ignore: IgnoreRules;
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  labels: Record<string, string>;
  tags: ImageRef[];
  /** the network of RUN steps (RUN --network=default) */
  network: 'none' | 'host' | 'bridge';
  /** --secret: what RUN --mount=type=secret reads */
  secrets: Map<string, SecretSource>;
  /** FROM an image the store lacks (or any image with --pull): pulls it; returns its exit status */
  pull: (image: string, why: 'missing' | 'always') => Promise<number>;
  /** --pull: pull every FROM image, even one the store has */
  pullAlways: boolean;
  progress: Progress;
  warn: (msg: string) => void;
}

export interface BuildResult {
  imageId: string;
  /** steps that ran (not taken from the cache) */
  ran: number;
}

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  steps: Instruction[];
}

interface StageState extends StageVars {
  config: ImageConfig;
  /** the build args declared in this stage so far, with their values */
  args: Map<string, string>;
}

/** Build args Docker knows without an ARG line (proxies): usable, never reported as unused. */
const PREDEFINED_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((a) => [
  a,
  a.toLowerCase(),
]);

export async function build(opts: BuildOptions): Promise<BuildResult> {
  return new Builder(opts).run();
}

class Builder {
  private readonly store: ImageStore;
  private readonly cache: BuildCache;
  private readonly file: string;
  private readonly escapeChar: string;
  private readonly usedArgs = new Set<string>();
  /** the ARGs before the first FROM: FROM lines see them, a stage's `ARG NAME` takes their value */
  private readonly globals = new Map<string, string>();
  private ran = 0;
  /** stages in the Dockerfile: progress names them when there are several */
  private stageCount = 0;
  /** the progress of the steps running now, which their output goes to */
  private readonly stepProgress = new Map<Instruction, StepProgress>();

  constructor(private readonly opts: BuildOptions) {
    this.store = new ImageStore(opts.roots);
    this.cache = new BuildCache(this.store, !opts.noCache);
    this.file = opts.dockerfile.file;
    this.escapeChar = opts.dockerfile.escape;
  }

  private where(ins: Instruction): string {
    return `${this.file}:${ins.line}`;
  }

  /** Runs fn, turning its BoxError into one naming the instruction's file and line. */
  private async at<T>(ins: Instruction, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof BoxError) || err.message.startsWith(`${this.file}:`)) throw err;
      throw new BoxError(`${this.where(ins)}: ${err.message}`, err.exitCode);
    }
  }

  async run(): Promise<BuildResult> {
    const { globalArgs, stages } = this.split();
    const globals = this.globals;
    // Docker's automatic platform args: FROM lines see them, a stage's `ARG TARGETARCH` takes them.
    const platform = { os: 'linux', arch: goArch() };
    for (const side of ['BUILD', 'TARGET']) {
      globals.set(`${side}PLATFORM`, `${platform.os}/${platform.arch}`);
      globals.set(`${side}OS`, platform.os);
      globals.set(`${side}ARCH`, platform.arch);
    }
    for (const ins of globalArgs) await this.at(ins, () => this.declareArgs(ins, globals, globals, globals));
    const targetIndex = this.targetIndex(stages);
    this.stageCount = stages.length;
    // Nothing the build adds (layers, configs) is collected while it runs.
    const lock = await storeLock(this.opts.roots, 'shared');
    try {
      removeDeadSteps(this.opts.roots);
      removeDeadMountSources(this.opts.roots);
      // Each stage starts once the stages it reads are built: independent stages run at once.
      // A stage waits for all its dependencies to settle, so a failure never leaves a step
      // running behind the error.
      const done = new Map<number, StageState>();
      const building = new Map<number, Promise<void>>();
      const start = (i: number): Promise<void> => {
        let p = building.get(i);
        if (!p) {
          p = (async () => {
            const deps = await Promise.allSettled(this.stageDeps(stages, i, globals).map(start));
            const failed = deps.find((d): d is PromiseRejectedResult => d.status === 'rejected');
            if (failed) throw failed.reason;
            done.set(i, await this.buildStage(stages[i], stages, done, globals));
          })();
          building.set(i, p);
        }
        return p;
      };
      await start(targetIndex);
      const unused = [...this.opts.buildArgs.keys()].filter(
        (k) => !this.usedArgs.has(k) && !PREDEFINED_ARGS.includes(k),
      );
      if (unused.length) this.opts.warn(`build args not consumed by any ARG: ${unused.join(', ')}`);
      const imageId = await this.commit(done.get(targetIndex)!);
      return { imageId, ran: this.ran };
    } finally {
      lock.release();
    }
  }

  private split(): { globalArgs: Instruction[]; stages: Stage[] } {
    const globalArgs: Instruction[] = [];
    const stages: Stage[] = [];
    for (const ins of this.opts.dockerfile.instructions) {
      if (ins.keyword === 'FROM') {
        const m = /^(\S+)(?:\s+as\s+(\S+))?\s*$/i.exec(ins.args);
        if (!m) throw dockerfileError(this.file, ins.line, 'expected FROM IMAGE [AS NAME]');
        const name = m[2]?.toLowerCase();
        if (name && stages.some((s) => s.name === name))
          throw dockerfileError(
            this.file,
            ins.line,
            `stage name "${name}" is used twice: give each stage its own name`,
          );
        stages.push({ index: stages.length, name, from: ins, steps: [] });
      } else if (stages.length === 0) globalArgs.push(ins);
      else stages[stages.length - 1].steps.push(ins);
    }
    return { globalArgs, stages };
  }

  private targetIndex(stages: Stage[]): number {
    if (this.opts.target === undefined) return stages.length - 1;
    const t = stages.find((s) => s.name === this.opts.target!.toLowerCase());
    if (!t) {
      const names = stages.map((s) => s.name).filter(Boolean);
      const known = names.length ? `the stages are ${names.join(', ')}` : 'no stage has a name (FROM IMAGE AS NAME)';
      throw new BoxError(`--target ${this.opts.target}: no such stage in ${this.file}: ${known}`);
    }
    return t.index;
  }

  /** A stage named by FROM or COPY --from (a name or an index before `before`), if it is one. */
  private stageRef(stages: Stage[], ref: string, before: number): Stage | undefined {
    const byName = stages.find((s) => s.name === ref.toLowerCase() && s.index < before);
    if (byName) return byName;
    return /^\d+$/.test(ref) && Number(ref) < before ? stages[Number(ref)] : undefined;
  }

  /** The earlier stages a stage reads: its FROM and its COPY --from. */
  private stageDeps(stages: Stage[], i: number, globals: Vars): number[] {
    const deps = new Set<number>();
    const s = stages[i];
    const base = this.fromImage(s, globals);
    const b = this.stageRef(stages, base, i);
    if (b && b.name === base.toLowerCase()) deps.add(b.index);
    for (const ins of s.steps) {
      const from = ins.flags.from;
      const froms =
        ins.keyword === 'RUN' && ins.flags.mount !== undefined
          ? mountFroms(ins.flags.mount.split('\n'))
          : (ins.keyword === 'COPY' || ins.keyword === 'ADD') && from !== undefined
            ? [from]
            : [];
      for (const f of froms) {
        const dep = this.stageRef(stages, word(f, globals, this.escapeChar), i);
        if (dep) deps.add(dep.index);
      }
    }
    return [...deps];
  }

  private fromImage(stage: Stage, globals: Vars): string {
    const image = word(stage.from.args.split(/\s+/)[0], globals, this.escapeChar);
    if (!image) throw dockerfileError(this.file, stage.from.line, 'FROM names no image: give FROM IMAGE');
    const wanted = stage.from.flags.platform;
    if (wanted !== undefined) {
      const platform = word(wanted, globals, this.escapeChar);
      const here = globals.get('BUILDPLATFORM')!;
      if (platform !== here)
        throw dockerfileError(this.file, stage.from.line, `FROM --platform=${platform}: box builds ${here} only`);
    }
    return image;
  }

  /** ARG NAME[=default]...: declares them in `scope`, valued by --build-arg, else the default. */
  private declareArgs(ins: Instruction, scope: Map<string, string>, globals: Vars, vars: Vars): void {
    for (const decl of words(ins.args, vars, this.escapeChar)) {
      const i = decl.indexOf('=');
      const name = i < 0 ? decl : decl.slice(0, i);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new BoxError(`ARG "${decl}": expected NAME or NAME=default`);
      const given = this.opts.buildArgs.get(name);
      if (given !== undefined) this.usedArgs.add(name);
      const dflt = i < 0 ? globals.get(name) : decl.slice(i + 1);
      const value = given ?? dflt;
      if (value !== undefined) scope.set(name, value);
      else scope.delete(name);
    }
  }

  /** Runs a step of a stage (its k-th of n) under its progress; fn says whether the cache had it. */
  private async tracked(
    stage: Stage,
    k: number,
    ins: Instruction,
    text: string,
    fn: () => Promise<boolean | undefined>,
  ) {
    const name = this.stageCount > 1 || stage.name ? (stage.name ?? `stage-${stage.index}`) : '';
    const progress = this.opts.progress.step(name, k, stage.steps.length + 1, text);
    this.stepProgress.set(ins, progress);
    try {
      if (await this.at(ins, fn)) progress.cached();
      else progress.done();
      mark(`build: ${ins.keyword} at line ${ins.line}`);
    } catch (err) {
      progress.failed();
      throw err;
    } finally {
      this.stepProgress.delete(ins);
    }
  }

  private async buildStage(
    stage: Stage,
    stages: Stage[],
    done: Map<number, StageState>,
    globals: Map<string, string>,
  ): Promise<StageState> {
    let state!: StageState;
    await this.tracked(stage, 1, stage.from, stage.from.original, async () => {
      state = await this.baseState(stage, stages, done, globals);
      return undefined;
    });
    // The base image's ONBUILD triggers run first, as steps of this stage; the image keeps none.
    const triggers = state.config.config?.OnBuild ?? [];
    if (triggers.length) {
      state.config.config!.OnBuild = null;
      for (const text of triggers) {
        const ins = { ...onBuildTrigger(text), line: stage.from.line };
        await this.tracked(stage, 1, ins, `ONBUILD ${text}`, () => this.step(ins, state, stages, stage, done));
      }
    }
    for (const [k, ins] of stage.steps.entries())
      await this.tracked(stage, k + 2, ins, ins.original, () => this.step(ins, state, stages, stage, done));
    return state;
  }

  private async baseState(
    stage: Stage,
    stages: Stage[],
    done: Map<number, StageState>,
    globals: Map<string, string>,
  ): Promise<StageState> {
    const image = this.fromImage(stage, globals);
    const fromStage = this.stageRef(stages, image, stage.index);
    let config: ImageConfig;
    if (fromStage && fromStage.name === image.toLowerCase()) {
      config = structuredClone(done.get(fromStage.index)!.config);
    } else if (image === 'scratch') {
      config = {
        architecture: goArch(),
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      };
    } else {
      let id = this.opts.pullAlways ? undefined : this.store.resolve(image);
      if (!id) {
        const status = await this.opts.pull(image, this.opts.pullAlways ? 'always' : 'missing');
        if (status !== 0) throw new BoxError(`FROM ${image}: the pull failed (exit status ${status})`, status);
        id = this.store.resolve(image);
        if (!id) throw new BoxError(`image "${image}" not found after its pull: check the name`);
      }
      const base = this.store.get(id).config;
      config = {
        architecture: base.architecture,
        os: base.os,
        config: structuredClone(base.config ?? {}),
        rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids] },
        history: structuredClone(base.history ?? []),
      };
    }
    const rc = config.config!;
    if (!(rc.Env ?? []).some((e) => e.startsWith('PATH='))) rc.Env = [`PATH=${DEFAULT_PATH}`, ...(rc.Env ?? [])];
    return { config, args: new Map(), shell: DEFAULT_SHELL, cmdSet: false };
  }

  /** The variables instructions see: the stage's args, overridden by its ENV. */
  private vars(state: StageState): Map<string, string> {
    const vars = new Map(state.args);
    for (const e of state.config.config?.Env ?? []) {
      const i = e.indexOf('=');
      vars.set(e.slice(0, i), e.slice(i + 1));
    }
    return vars;
  }

  private async step(
    ins: Instruction,
    state: StageState,
    stages: Stage[],
    stage: Stage,
    done: Map<number, StageState>,
  ): Promise<boolean | undefined> {
    const parent = stateKey(state.config);
    if (ins.keyword === 'ARG') {
      this.declareArgs(ins, state.args, this.globals, this.vars(state));
      return; // not in the image: history only in Docker's classic builder; BuildKit records nothing
    }
    if (ins.keyword === 'RUN') return this.runInstruction(ins, state, parent, stages, stage, done);
    if (ins.keyword === 'COPY' || ins.keyword === 'ADD')
      return this.copyInstruction(ins, state, parent, stages, stage, done);
    applyConfigStep(ins, state.config.config!, state, this.vars(state), this.escapeChar);
    const entry = this.configStepEntry(stepKey(parent, ins.original));
    this.addHistory(state, ins.original, entry, true);
  }

  /**
   * A config step's cache entry: only its creation time is kept (its result is cheap to make
   * again), so that a rebuild with no change gives the same history and so the same image id.
   */
  private configStepEntry(key: string): CacheEntry {
    const hit = this.cache.get(key);
    if (hit && hit.diffId === undefined) return hit;
    const entry: CacheEntry = { created: isoTime() };
    this.cache.put(key, entry);
    return entry;
  }

  private addHistory(state: StageState, createdBy: string, entry: CacheEntry, empty: boolean): void {
    state.config.history ??= [];
    state.config.history.push({
      created: entry.created,
      created_by: createdBy,
      comment: 'box build',
      ...(empty ? { empty_layer: true } : {}),
    });
    if (entry.diffId) state.config.rootfs.diff_ids.push(entry.diffId);
  }

  private argv(ins: Instruction, state: StageState): string[] {
    if (ins.json) return ins.json;
    const doc = ins.heredocs[0];
    if (doc && ins.args.trim().replace(/^<<-?["']?\w+["']?$/, '') === '') return [...state.shell, doc.body];
    if (doc) {
      const docs = ins.heredocs.map((d) => `${d.body}${d.name}\n`).join('');
      return [...state.shell, `${ins.args}\n${docs}`];
    }
    return [...state.shell, ins.args];
  }

  private async runInstruction(
    ins: Instruction,
    state: StageState,
    parent: string,
    stages: Stage[],
    stage: Stage,
    done: Map<number, StageState>,
  ): Promise<boolean> {
    const asked = ins.flags.network ?? 'default';
    if (!['none', 'host', 'default'].includes(asked))
      throw new BoxError(`RUN --network=${asked}: use none, host or default (the build's --network)`);
    const network = asked === 'default' ? this.opts.network : asked;
    const security = ins.flags.security;
    if (security !== undefined && security !== 'sandbox')
      throw new BoxError(`RUN --security=${security}: box build runs every step sandboxed: drop the flag`);
    const vars = this.vars(state);
    const specs = (ins.flags.mount?.split('\n') ?? []).map((m) => word(m, vars, this.escapeChar));
    const mounts = parseRunMounts(specs, state.config.config?.WorkingDir ?? '/');
    const argv = this.argv(ins, state);
    const envNames = new Set((state.config.config?.Env ?? []).map((e) => e.slice(0, e.indexOf('='))));
    const argEnv = [...state.args].filter(([k]) => !envNames.has(k)).map(([k, v]) => `${k}=${v}`);
    const createdBy = `RUN ${ins.json ? JSON.stringify(argv) : argv.join(' ')}`;
    const tree = (from: string | undefined) => this.treeFrom(from, 'RUN --mount', stages, stage, done);
    const stepMounts = new StepMounts({ roots: this.opts.roots, tree, secrets: this.opts.secrets }, mounts);
    try {
      // the mounts' part: their specs and what binds mount, never a secret's content
      const mountKey = mounts.length ? { mounts: stepMounts.keyText } : {};
      const key = stepKey(parent, createdBy, JSON.stringify({ argEnv, network, ...mountKey }));
      let entry = this.cache.get(key);
      const cached = entry?.diffId !== undefined;
      if (!entry?.diffId) {
        this.ran++;
        const quiet = this.opts.progress.mode === 'quiet';
        const diffId = await runStep({
          roots: this.opts.roots,
          store: this.store,
          config: { ...state.config, config: { ...state.config.config, Cmd: null } },
          argv,
          env: argEnv,
          network,
          mounts: await stepMounts.requests(),
          mountPoints: this.mountPoints(mounts, state),
          output: quiet ? 'ignore' : (chunk) => this.stepProgress.get(ins)?.output(chunk),
          where: this.where(ins),
          warn: this.opts.warn,
        });
        entry = { created: isoTime(), diffId };
        this.cache.put(key, entry);
      }
      this.addHistory(state, createdBy, entry, false);
      return cached;
    } finally {
      stepMounts.release();
    }
  }

  /**
   * The mounts' targets and the directories the runtime makes for them (absent from the stage):
   * not the step's changes, unless the step put something else there.
   */
  private mountPoints(mounts: RunMount[], state: StageState): string[] {
    const image = new LayerStack(this.store.lowerDirs(state.config));
    try {
      const out = new Set<string>();
      for (const m of mounts) {
        for (let p = m.target; p !== '/' && !image.lookup(p, false); p = path.posix.dirname(p)) out.add(p);
        out.add(m.target);
      }
      return [...out];
    } finally {
      image.close();
    }
  }

  /** The tree a COPY (or a RUN mount) reads: the context, or with `ref` (expanded) a stage or an image. */
  private treeFrom(
    ref: string | undefined,
    what: string,
    stages: Stage[],
    stage: Stage,
    done: Map<number, StageState>,
  ): SourceTree {
    if (ref === undefined) {
      if (!this.opts.context) throw new BoxError(`${what} needs a build context: give a directory, not -`);
      return { stack: new LayerStack([this.opts.context]), ignore: this.opts.ignore, what: 'the build context' };
    }
    const s = this.stageRef(stages, ref, stage.index);
    let config: ImageConfig;
    if (s) config = done.get(s.index)!.config;
    else {
      const id = this.store.resolve(ref);
      if (!id)
        throw new BoxError(`--from=${ref}: no earlier stage or image of that name: name a stage (FROM x AS ${ref})`);
      config = this.store.get(id).config;
    }
    return { stack: new LayerStack(this.store.lowerDirs(config)), what: s ? `stage ${ref}` : `image ${ref}` };
  }

  private async copyInstruction(
    ins: Instruction,
    state: StageState,
    parent: string,
    stages: Stage[],
    stage: Stage,
    done: Map<number, StageState>,
  ): Promise<boolean> {
    const vars = this.vars(state);
    const list = ins.json ?? words(ins.args, vars, this.escapeChar);
    if (list.length < 2)
      throw new BoxError(`${ins.keyword} needs a source and a destination: ${ins.keyword} SRC... DEST`);
    let sources = list.slice(0, -1);
    const urls = ins.keyword === 'ADD' && sources.some(isUrlSource);
    if (ins.flags.checksum !== undefined && !urls)
      throw new BoxError(`--checksum is for ADD of a URL: drop it, a local file is what the context holds`);
    const chmod = ins.flags.chmod;
    if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod))
      throw new BoxError(`--chmod=${chmod}: expected an octal mode such as 755`);
    const image = new LayerStack(this.store.lowerDirs(state.config));
    /** a temporary source directory: heredocs written out, or an archive unpacked */
    let tempSource: string | undefined;
    let tree: SourceTree | undefined;
    let keepOwners = false;
    try {
      if (ins.heredocs.length) {
        // `COPY <<EOF /dest`: each heredoc is a file named after its marker, written to a
        // temporary directory that is then the source tree (so Docker's destination rules apply)
        const names = sources.map((src) => /^<<-?(\w+)$/.exec(src)?.[1]);
        if (names.some((n) => n === undefined) || ins.flags.from !== undefined)
          throw new BoxError(`${ins.keyword} with heredocs takes only heredocs as sources: COPY <<EOF /dest`);
        tempSource = path.join(layout.tmp(this.opts.roots), ownedName('.tmp-heredoc', randomBytes(6).toString('hex')));
        mkdirp(tempSource);
        for (const doc of ins.heredocs) fs.writeFileSync(path.join(tempSource, doc.name), doc.body, { mode: 0o644 });
        sources = names as string[];
        tree = { stack: new LayerStack([tempSource]), what: 'the heredocs' };
      } else if (urls) {
        tempSource = path.join(layout.tmp(this.opts.roots), ownedName('.tmp-url', randomBytes(6).toString('hex')));
        mkdirp(tempSource);
        sources = await fetchUrlSources(sources, tempSource, ins.flags.checksum);
        tree = { stack: new LayerStack([tempSource]), what: 'the downloaded files' };
      } else {
        const ref = ins.flags.from === undefined ? undefined : word(ins.flags.from, vars, this.escapeChar);
        tree = this.treeFrom(ref, ins.keyword, stages, stage, done);
      }
      const from = tree;
      if (
        ins.keyword === 'ADD' &&
        !urls &&
        ins.flags.from === undefined &&
        sources.some((s) => isArchive(from.stack, s))
      ) {
        // ADD ARCHIVE DEST: its content, unpacked, is what is copied into DEST
        if (sources.length > 1) throw new BoxError('ADD of an archive takes one source: give each archive its own ADD');
        tempSource = path.join(layout.tmp(this.opts.roots), ownedName('.tmp-add', randomBytes(6).toString('hex')));
        mkdirp(tempSource);
        await unpackArchive(tree.stack, sources[0], tempSource);
        tree.stack.close();
        tree = { stack: new LayerStack([tempSource]), what: `the archive ${sources[0]}` };
        sources = ['/'];
        keepOwners = true;
      }
      const owner =
        ins.flags.chown !== undefined ? parseOwner(word(ins.flags.chown, vars, this.escapeChar), image) : undefined;
      const entries = copyEntries(tree, image, {
        sources,
        dest: list[list.length - 1],
        workdir: state.config.config?.WorkingDir ?? '/',
        owner,
        mode: chmod !== undefined ? parseInt(chmod, 8) : undefined,
        keepOwners,
      });
      const createdBy = ins.original;
      const key = stepKey(parent, createdBy, entriesDigest(entries));
      mark(`build: ${ins.keyword} sources listed and read`);
      let entry = this.cache.get(key);
      const cached = entry?.diffId !== undefined;
      if (!entry?.diffId) {
        this.ran++;
        // a step run again (--no-cache) most likely makes a layer the store has: found by its digest
        const what = `${this.where(ins)}: ${ins.keyword}`;
        const diffId = await storeEntries(this.store, entries, what, { hashFirst: this.cache.hasRecord(key) });
        entry = { created: isoTime(), diffId };
        this.cache.put(key, entry);
      }
      this.addHistory(state, createdBy, entry, false);
      return cached;
    } finally {
      image.close();
      tree?.stack.close();
      if (tempSource) fs.rmSync(tempSource, { recursive: true, force: true });
    }
  }

  private async commit(state: StageState): Promise<string> {
    const history = state.config.history ?? [];
    const config: ImageConfig = {
      created: history[history.length - 1]?.created ?? isoTime(),
      architecture: state.config.architecture,
      os: state.config.os,
      config: { ...state.config.config },
      rootfs: state.config.rootfs,
      history,
    };
    if (Object.keys(this.opts.labels).length)
      config.config!.Labels = { ...(config.config!.Labels ?? {}), ...this.opts.labels };
    if (config.config!.Env) config.config!.Env = mergeEnv(config.config!.Env);
    const id = this.store.putConfig(config);
    await this.store.registerImage(id);
    for (const ref of this.opts.tags) this.store.tag(ref, id);
    return id;
  }
}
