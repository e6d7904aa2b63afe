// The entry point of a layer worker thread (bundled alone into the asset layer-worker.js by
// build/build.mjs; layer-workers.ts starts it). It unpacks one layer at a time: the main thread
// sends the layer's bytes as they arrive, and this thread verifies the compressed digest,
// decompresses, writes the files and the tar-split record and computes the diff_id
// (unpackLayerStream, the same code a pull ran on the main thread before). Committing the layer
// stays with the main thread, which holds the layer's lock.
//
// Why a thread: a pull is CPU-bound (two sha256 passes, inflate, file creation, the tar reader),
// and on the main thread it used one core of two while the other waited.
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { BoxError } from '../errors';
import { setFfiCacheDir } from '../linux/ffi';
import { unpackLayerStream } from './layer-stream';
import { UnpackResult } from './unpack';

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
  | { type: 'consumed'; bytes: number }
  | { type: 'done'; result: UnpackResult }
  | { type: 'failed'; message: string };

function run(port: NonNullable<typeof parentPort>, data: LayerWorkerData): void {
  setFfiCacheDir(data.ffiCacheDir);
  const post = (m: FromWorker) => port.postMessage(m);
  let input: Readable | undefined;
  let what = '';
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'start': {
        const source = new Readable({ read() {} });
        input = source;
        what = m.job.what;
        // onBytes is called as the first stage takes a piece, once the next one took the previous
        // piece: the main thread sends only a few pieces more than this thread has taken.
        const onBytes = (bytes: number) => post({ type: 'consumed', bytes });
        unpackLayerStream(source, m.job.work, { ...m.job, onBytes }).then(
          (result) => post({ type: 'done', result }),
          (err: unknown) => {
            source.destroy();
            post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
          },
        );
        return;
      }
      case 'data':
        input?.push(Buffer.from(m.bytes));
        return;
      case 'end':
        input?.push(null);
        input = undefined;
        return;
      case 'abort':
        input?.destroy(new BoxError(`${what}: interrupted`));
        input = undefined;
        return;
    }
  });
}

if (parentPort && (workerData as { boxLayerWorker?: LayerWorkerData } | null)?.boxLayerWorker)
  run(parentPort, (workerData as { boxLayerWorker: LayerWorkerData }).boxLayerWorker);
