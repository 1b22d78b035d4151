// Run directories are named after workflow ids; schedule-started ids carry a timestamp with colons,
// which are not safe in file names on every system. Characters are mapped, never dots: an id such as
// ".." stays itself and is refused by resolveRun (src/run/run-dir.ts runDirFor) with a clear message,
// rather than being turned silently into another name.
export function runIdFor(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * The workflow id of a retrain's challenger run (and so its run directory): the retrain's id and the random end
 * of its run id. A schedule names the workflows it starts to the second, so two retrains started within one
 * second (a trigger right after a run) share an id; their challengers must not share a run directory.
 */
export function challengerIdFor(retrainWorkflowId: string, retrainRunId: string): string {
  return `${retrainWorkflowId}-${retrainRunId.replace(/-/g, '').slice(-12)}-challenger`;
}
