// The worker-thread side of checkpoint-writer.ts: writes (and prunes) the checkpoints it is sent, one
// at a time, on its own event loop.
import { parentPort } from 'node:worker_threads';
import { writeCheckpointAndPrune } from './checkpoint';
import type { WriteJob, WriteReply } from './checkpoint-writer';

const port = parentPort;
if (!port) throw new Error('checkpoint-thread.ts runs only as a worker thread (see checkpoint-writer.ts).');

let queue: Promise<void> = Promise.resolve();
port.on('message', (job: WriteJob) => {
  queue = queue.then(async () => {
    let reply: WriteReply;
    try {
      reply = { id: job.id, path: await writeCheckpointAndPrune(job.checkpointsDir, job.contents, job.keepLast, job.protect) };
    } catch (err) {
      reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
});
