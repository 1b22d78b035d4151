// Run directories are named after workflow ids; schedule-started ids carry a timestamp with colons,
// which are not safe in file names on every system.
export function runIdFor(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '-');
}
