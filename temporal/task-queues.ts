// CPU work (download, preprocessing, reports) and accelerator work (training, embedding) poll separate
// queues, so workers on different machines can serve them; see README "Several machines".
// Plain constants: workflows import this file, and workflow code may not read the environment.
// A deployment with other names passes them in the workflow input (`taskQueues`).
export const CPU_TASK_QUEUE = 'facenet-cpu';
export const ACCEL_TASK_QUEUE = 'facenet-accel';
/** Workflows themselves run here (any worker that registers them). */
export const WORKFLOW_TASK_QUEUE = 'facenet';
