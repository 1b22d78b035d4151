// A trainFaceNet run started as a child (a sweep's trial, a retrain's challenger), cancelled with its parent.
import { CancellationScope, CancelledFailure, getExternalWorkflowHandle, isCancellation, startChild } from '@temporalio/workflow';
import type { TrainResult } from '../activities/types';
import { trainFaceNet } from './train';

/**
 * Runs trainFaceNet as a child and passes a cancellation of the parent on to it. Not through the SDK's own
 * child cancellation: that names the child's first run, and a training run continues as new every 25 epochs, so
 * the request would reach a finished run and the training would go on. Cancelled by workflow id alone, the
 * current run gets it, writes its checkpoint and stops; the parent waits for that, then ends cancelled.
 */
export async function runTrainingChild(workflowId: string, args: Parameters<typeof trainFaceNet>[0]): Promise<TrainResult> {
  // A sweep's lane can reach its next trial in the same workflow task as the sweep's cancellation.
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled before the run started');
  const child = await CancellationScope.nonCancellable(() => startChild(trainFaceNet, { workflowId, args: [args] }));
  try {
    return await Promise.race([child.result(), CancellationScope.current().cancelRequested]);
  } catch (err) {
    // The parent's own cancellation (not a child that failed or was cancelled by itself): pass it on.
    if (!isCancellation(err) || !CancellationScope.current().consideredCancelled) throw err;
    await CancellationScope.nonCancellable(async () => {
      await getExternalWorkflowHandle(workflowId).cancel().catch(() => undefined); // it may have just finished
      await child.result().catch(() => undefined);
    });
    throw err;
  }
}
