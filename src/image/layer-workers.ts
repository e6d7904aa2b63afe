// Worker threads that unpack layers (layer-worker.ts runs in each), so a pull's layers are
// verified, decompressed and written on every core at once. This thread keeps the download: it
// hands the body's pieces over as they arrive, at most a few MiB ahead of what the worker has
// taken (the socket is paused meanwhile), so memory stays bounded whatever the layer's size.
//
// A worker costs ~15 ms of CPU to start (a new V8 isolate and Node's bootstrap) and runs its own
// small bundle, not box's (parsing box.js took a worker 30 ms more): the asset layer-worker.js.
import { availableParallelism } from 'node:os';
import { finished, Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { assetDir, isBundled, isSea, readAsset } from '../assets';
import { BoxError } from '../errors';
import { ffiCacheDir } from '../linux/ffi';
import { LayerStreamOptions, layerError } from './layer-stream';
import type { FromWorker, LayerWorkerData, ToWorker } from './layer-worker';
import { UnpackResult } from './unpack';

/** bytes sent and not yet taken by the worker before the download is paused */
const AHEAD_BYTES = 4 << 20;

export class LayerWorkers {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[] = [];
  private broken?: Error;

  private spawned = false;
  private soon?: NodeJS.Immediate;

  private constructor(private readonly count: number) {}

  /**
   * Makes the threads on the next turn of the event loop: a request the caller just made goes out
   * first, and making them (2-11 ms of this thread, measured under load) overlaps the registry's
   * answer instead of delaying the ask. unpack() makes them at once if they are not there yet.
   */
  spawnSoon(): void {
    if (!this.spawned) this.soon ??= setImmediate(() => this.spawn());
  }

  private spawn(): void {
    if (this.spawned) return;
    this.spawned = true;
    if (this.soon) clearImmediate(this.soon);
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const source = readAsset('layer-worker.js').toString('utf8');
    const boxLayerWorker: LayerWorkerData = { ffiCacheDir: ffiCacheDir() };
    // Outside the executable, the worker's bundle finds koffi's module where this one does.
    const env = isSea() ? process.env : { ...process.env, BOX_ASSET_DIR: assetDir() };
    for (let i = 0; i < this.count; i++) {
      const w = new Worker(source, { eval: true, workerData: { boxLayerWorker }, env });
      w.on('error', (err) => (this.broken ??= err));
      w.on('exit', (code) => (this.broken ??= new Error(`exit code ${code}`)));
      w.unref(); // only a layer in progress keeps the process alive (see unpack)
      this.all.push(w);
      this.idle.push(w);
    }
  }

  /** `count` workers (none: undefined) */
  static start(count: number): LayerWorkers | undefined {
    return count > 0 ? new LayerWorkers(count) : undefined;
  }

  /**
   * How many a pull starts by default: one per core, in the executable and the bundle; none from
   * the TypeScript sources, which have no worker bundle of their own (tests ask for workers,
   * which then run the built one, dist/assets/layer-worker.js).
   */
  static defaultCount(): number {
    return isBundled() ? availableParallelism() : 0;
  }

  private acquire(): Promise<Worker> {
    this.spawn();
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  /**
   * Unpacks `source` into `work` on a worker (unpackLayerStream's work and checks). Settles only
   * once the worker no longer touches `work`, so the caller may remove it on failure.
   */
  async unpack(source: Readable, work: string, opts: LayerStreamOptions): Promise<UnpackResult> {
    const w = await this.acquire();
    if (this.broken) {
      this.release(w);
      source.destroy();
      throw new BoxError(`${opts.what}: a layer unpacking thread stopped (${this.broken.message})`);
    }
    w.ref();
    try {
      return await this.feed(w, source, work, opts);
    } finally {
      w.unref();
      this.release(w);
    }
  }

  private feed(w: Worker, source: Readable, work: string, opts: LayerStreamOptions): Promise<UnpackResult> {
    const post = (m: ToWorker, transfer?: ArrayBuffer[]) => w.postMessage(m, transfer);
    return new Promise<UnpackResult>((resolve, reject) => {
      let received = 0;
      let ahead = 0;
      /** the download's own failure, which explains the worker's "interrupted" */
      let sourceError: BoxError | undefined;
      let settled = false;

      const onData = (chunk: Buffer) => {
        received += chunk.length;
        opts.onBytes?.(chunk.length);
        // Node's http gives each piece of a body its own ArrayBuffer: it is handed over, not
        // copied. Anything else (a piece of a shared buffer) is copied first.
        const own = chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length;
        const bytes = (
          own ? chunk.buffer : chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length)
        ) as ArrayBuffer;
        ahead += chunk.length;
        post({ type: 'data', bytes }, [bytes]);
        if (ahead >= AHEAD_BYTES) source.pause();
      };
      const stop = (err: BoxError) => {
        if (settled || sourceError) return;
        sourceError = err;
        source.off('data', onData);
        source.destroy();
        post({ type: 'abort' });
      };
      const onAbort = () => stop(new BoxError(`${opts.what}: interrupted`));
      const onMessage = (m: FromWorker) => {
        if (m.type === 'consumed') {
          // m.piece, a piece given back, is dropped: freed here, its memory serves the next reads.
          ahead -= m.bytes;
          if (ahead < AHEAD_BYTES / 2 && source.isPaused() && !sourceError) source.resume();
          return;
        }
        settle();
        if (m.type === 'done') resolve(m.result);
        else reject(sourceError ?? new BoxError(m.message));
      };
      const onExit = (code: number) => {
        settle();
        const why = this.broken?.message ?? `exit code ${code}`;
        reject(sourceError ?? new BoxError(`${opts.what}: the layer unpacking thread stopped (${why})`));
      };
      const settle = () => {
        settled = true;
        w.off('message', onMessage);
        w.off('exit', onExit);
        opts.signal?.removeEventListener('abort', onAbort);
        // A layer refused before its end: the rest of the download is not wanted.
        source.off('data', onData);
        if (!source.readableEnded) source.destroy();
      };

      w.on('message', onMessage);
      w.on('exit', onExit);
      post({
        type: 'start',
        job: {
          work,
          compressedDigest: opts.compressedDigest,
          compressedSize: opts.compressedSize,
          diffId: opts.diffId,
          what: opts.what,
        },
      });
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      source.on('data', onData);
      finished(source, (err) => {
        if (err) return stop(layerError(err, opts.what, received, opts.compressedSize));
        if (sourceError) return;
        post({ type: 'end' });
      });
    });
  }

  /** Stops every worker (any layer still in progress fails). */
  async close(): Promise<void> {
    if (this.soon) clearImmediate(this.soon);
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
