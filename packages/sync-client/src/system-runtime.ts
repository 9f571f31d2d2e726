/**
 * The real clock, timers and randomness, for apps. The edge of the system is the one place that
 * reads ambient time (ARCHITECTURE.md: the core and the client take these as arguments, so the
 * same client code runs on a simulated network's virtual time in tests).
 */
import type { Clock, Random, Scheduler } from "@mg-sync/crdt-core";

/** `Date.now()`: the device's wall clock, skew and jumps included (the HLC copes with both). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** `setTimeout` / `clearTimeout`. */
export const systemScheduler: Scheduler = Object.freeze({
  schedule(delayMs: number, callback: () => void) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
});

/**
 * Uniform in [0, 1) from WebCrypto (present in Node 20+ and every browser): jitter and
 * incarnation ids should not be predictable from another device's `Math.random` state.
 */
export const systemRandom: Random = () => {
  const words = new Uint32Array(1);
  globalThis.crypto.getRandomValues(words);
  return words[0]! / 0x1_0000_0000;
};
