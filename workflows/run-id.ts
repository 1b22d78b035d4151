// Run directories are named after workflow ids; schedule-started ids carry a timestamp with colons,
// which are not safe in file names on every system. Characters are mapped, never dots: an id such as
// ".." stays itself and is refused by resolveRun (src/run/run-dir.ts runDirFor) with a clear message,
// rather than being turned silently into another name.
export function runIdFor(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '-');
}
