/**
 * What a device runtime needs from its host besides a transport: a wall clock and timers.
 * Injected, never read from globals, so the same client code runs on a simulated network's
 * virtual time in tests and on real time in apps (ARCHITECTURE.md). The real ones live at the
 * edge, in `@mg-sync/sync-client` (`systemClock`, `systemScheduler`).
 */

/** Milliseconds since the Unix epoch, as this device believes them (its clock may be skewed). */
export interface Clock {
  now(): number;
}

/** A cancellable timer: calling it cancels the callback if it has not run yet. */
export type CancelTimer = () => void;

export interface Scheduler {
  /** Runs `callback` once after `delayMs` (>= 0) of this scheduler's time. */
  schedule(delayMs: number, callback: () => void): CancelTimer;
}

/** A source of uniform numbers in [0, 1), for jitter and random delays (seeded in simulation). */
export type Random = () => number;
