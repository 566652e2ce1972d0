/**
 * Ends a child process when its parent is gone, even while the child's main thread is blocked (a tokenizer
 * regex that backtracks, a long onnxruntime call): 'disconnect' never fires then, and a SIGKILLed CLI would
 * leave the child computing for minutes. A worker thread has its own event loop, so it still runs: it checks
 * twice a second whether the process was re-parented (the parent's pid is no longer ours) and then SIGKILLs
 * the process it belongs to. Linux's PR_SET_PDEATHSIG would do this in one call, but Node does not expose it.
 */
import { Worker } from 'node:worker_threads';

const WATCH = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
}, workerData.everyMs);
`;

/** Starts the watch (once per process); it never keeps the process alive. */
export function watchParent(everyMs = 500): void {
  if (started) return;
  started = true;
  const worker = new Worker(WATCH, { eval: true, workerData: { parent: process.ppid, everyMs } });
  worker.unref();
}

let started = false;
