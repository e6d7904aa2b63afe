// The entry point of a layer worker thread (bundled alone into the asset layer-worker.js by
// build/build.mjs; layer-workers.ts starts it). It unpacks one layer at a time: the main thread
// sends the layer's bytes as they arrive, and this thread checks the compressed digest and size,
// decompresses, writes the files and the tar-split record and checks the diff_id. Committing the
// layer stays with the main thread, which holds the layer's lock.
//
// Why a thread: a pull is CPU-bound (two sha256 passes, inflate, file creation, the tar reader),
// and on the main thread it used one core of two while the other waited. Here every piece is
// handled synchronously as its message arrives (SyncJob: no streams, no round trip to libuv's
// threads for zlib, one reused output buffer); a layer SyncJob cannot read (zstd, or a Node
// without the zlib interface SyncGunzip drives) goes through unpackLayerStream, as on the main thread.
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { BoxError } from '../errors';
import { setFfiCacheDir } from '../linux/ffi';
import { DigestCheck, DigestMismatchError } from './blobs';
import { detectCompression } from './compression';
import { SyncGunzip } from './gunzip-sync';
import { layerError, unpackLayerStream } from './layer-stream';
import { TAR_SPLIT_FILE } from './tar-split';
import { LayerSink, UnpackResult } from './unpack';

export interface LayerWorkerData {
  /** where koffi's native module is (or goes), as on the main thread */
  ffiCacheDir: string;
}

/** One layer's job, as the main thread starts it. */
export interface LayerJob {
  /** the work directory's diff/ (new and empty, made by the main thread) */
  work: string;
  compressedDigest?: string;
  compressedSize?: number;
  diffId?: string;
  what: string;
}

export type ToWorker =
  | { type: 'start'; job: LayerJob }
  | { type: 'data'; bytes: ArrayBuffer }
  | { type: 'end' }
  | { type: 'abort' };

export type FromWorker =
  /** `piece`: the data message's buffer given back when nothing here keeps it (see 'data') */
  | { type: 'consumed'; bytes: number; piece?: ArrayBuffer }
  | { type: 'done'; result: UnpackResult }
  | { type: 'failed'; message: string };

/** What a job does with the layer's pieces; every method may throw the layer's error. */
interface Job {
  data(chunk: Buffer): void;
  end(): void;
  abort(): void;
}

/** The whole layer on this thread, piece by piece (gzip or none). */
class SyncJob implements Job {
  private readonly compressed?: DigestCheck;
  private readonly gunzip?: SyncGunzip;
  private readonly sink: LayerSink;
  private readonly toSink = (out: Buffer) => this.sink.write(out);

  constructor(
    private readonly job: LayerJob,
    gzip: boolean,
    private readonly done: (r: UnpackResult) => void,
  ) {
    if (job.compressedDigest) this.compressed = new DigestCheck(job.compressedDigest, job.compressedSize, job.what);
    this.sink = new LayerSink(job.work, { tarSplit: path.join(path.dirname(job.work), TAR_SPLIT_FILE) });
    // Both digests checked: they catch all that gzip's CRC would, which is then left out (4% of the CPU).
    if (gzip) this.gunzip = new SyncGunzip({ crc: !(job.compressedDigest && job.diffId) });
  }

  /**
   * What the unpacking threw, held until the compressed digest says whether the download is to
   * blame: without gzip's CRC, a corrupt download reaches the tar reader, whose error ("bad header
   * checksum") would name the wrong cause. The rest is only hashed, at most the size announced.
   */
  private failure?: { error: unknown };

  data(chunk: Buffer): void {
    this.compressed?.update(chunk);
    if (this.failure) return;
    try {
      if (this.gunzip) this.gunzip.write(chunk, this.toSink);
      else this.sink.write(chunk);
    } catch (error) {
      if (!this.compressed) throw error;
      this.failure = { error };
      this.abort(); // nothing more is written
    }
  }

  end(): void {
    this.compressed?.check();
    if (this.failure) throw this.failure.error;
    this.gunzip?.end(this.toSink);
    const result = this.sink.finish();
    if (this.job.diffId && result.diffId !== this.job.diffId)
      throw new DigestMismatchError(this.job.diffId, result.diffId, `${this.job.what} (uncompressed)`);
    this.done(result);
  }

  abort(): void {
    this.sink.abort();
    this.gunzip?.close();
  }
}

/**
 * unpackLayerStream fed with the pieces (for what SyncJob cannot decompress). It says itself when
 * it has taken a piece (onBytes), and it answers once its stream has stopped.
 */
class StreamJob implements Job {
  private readonly source = new Readable({ read() {} });
  constructor(
    job: LayerJob,
    taken: (bytes: number) => void,
    done: (r: UnpackResult) => void,
    fail: (err: unknown) => void,
  ) {
    unpackLayerStream(this.source, job.work, { ...job, onBytes: taken }).then(done, fail);
  }
  data(chunk: Buffer): void {
    this.source.push(chunk);
  }
  end(): void {
    this.source.push(null);
  }
  abort(): void {
    this.source.destroy(new Error('interrupted'));
  }
}

function run(port: NonNullable<typeof parentPort>, data: LayerWorkerData): void {
  setFfiCacheDir(data.ffiCacheDir);
  const post = (m: FromWorker) => port.postMessage(m);
  const gunzipSupported = SyncGunzip.supported();
  let job: LayerJob | undefined;
  let current: Job | undefined;
  /** the first bytes, held until there are enough to tell the compression */
  let head: Buffer[] = [];
  let received = 0;
  /** set once the job has answered (done or failed): later messages of it are dropped */
  let answered = false;

  const done = (result: UnpackResult) => {
    answered = true;
    post({ type: 'done', result });
  };
  const fail = (err: unknown) => {
    if (answered) return;
    answered = true;
    current?.abort();
    post({ type: 'failed', message: layerError(err, job?.what ?? 'layer', received, job?.compressedSize).message });
  };
  const taken = (bytes: number) => post({ type: 'consumed', bytes });
  /** Picks the job's kind from its first bytes (all of them at the end) and hands it those. */
  const begin = (j: LayerJob, final: boolean): Job | undefined => {
    const first = Buffer.concat(head);
    if (first.length < 4 && !final) return undefined;
    head = [];
    const c = detectCompression(first);
    const job: Job =
      c === 'none' || (c === 'gzip' && gunzipSupported)
        ? new SyncJob(j, c === 'gzip', done)
        : new StreamJob(j, taken, done, fail);
    if (first.length) job.data(first);
    return job;
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'start') {
      job = m.job;
      current = undefined;
      head = [];
      received = 0;
      answered = false;
      return;
    }
    if (!job || answered) return;
    try {
      switch (m.type) {
        case 'data': {
          const chunk = Buffer.from(m.bytes);
          received += chunk.length;
          if (current) current.data(chunk);
          else {
            head.push(chunk);
            current = begin(job, false);
          }
          if (current instanceof StreamJob) return; // it says itself when it has taken a piece
          // A piece handled synchronously (not kept for the head either) is given back: the main
          // thread's next young-generation collection frees it there and its download reuses the
          // memory; left to this thread's collector, the download faulted in fresh pages for every
          // piece (a third of a pull's page faults).
          if (current && !head.length)
            port.postMessage({ type: 'consumed', bytes: chunk.length, piece: m.bytes }, [m.bytes]);
          else taken(chunk.length);
          return;
        }
        case 'end':
          current ??= begin(job, true);
          current?.end();
          return;
        case 'abort':
          // A stream job answers once its stream has stopped (its rejection is the answer).
          if (current instanceof StreamJob) return current.abort();
          throw new BoxError(`${job.what}: interrupted`);
      }
    } catch (err) {
      fail(err);
    }
  });
}

if (parentPort && (workerData as { boxLayerWorker?: LayerWorkerData } | null)?.boxLayerWorker)
  run(parentPort, (workerData as { boxLayerWorker: LayerWorkerData }).boxLayerWorker);
