// Starts a TypeScript worker: `node --import tsx` is not inherited by worker threads on Node 20,
// so the worker registers tsx itself and then loads its entry (`workerData.entry`, a file URL).
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
