/**
 * Transport calls whose failure must not escape: presence updates, heartbeats and the goodbye
 * in `stop()` are best effort, and `stop()` must finish however the transport behaves.
 */
import type { Scheduler } from "@mg-sync/crdt-core";

/** Runs `call`; a throw or a rejection only calls `failed`. */
export function bestEffort(call: () => Promise<unknown>, failed: () => void): void {
  try {
    call().catch(() => {
      failed();
    });
  } catch {
    failed();
  }
}

/**
 * Resolves when `call()` settles or after `ms` of scheduler time, whichever is first; a failed
 * call calls `failed` and never rejects (stop() must finish).
 */
export function within(
  scheduler: Scheduler,
  call: () => Promise<unknown>,
  ms: number,
  failed: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    const cancel = scheduler.schedule(ms, resolve);
    const done = (): void => {
      cancel();
      resolve();
    };
    let promise: Promise<unknown>;
    try {
      promise = call();
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(done, () => {
      failed();
      done();
    });
  });
}
