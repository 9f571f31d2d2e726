/**
 * Errors are values where bad input is normal (network data): every parser of the core
 * returns a `Result`, never throws on bad input.
 */

/** Where a value was wrong (`capabilities.max_resolution`, `` for the root) and why. */
export interface Invalid {
  readonly path: string;
  readonly reason: string;
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: Invalid };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function invalid<T = never>(path: string, reason: string): Result<T> {
  return { ok: false, error: { path, reason } };
}
