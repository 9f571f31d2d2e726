/** How the demo writes times: run time, delays, and playback positions. */

/** Run time as `mm:ss.mmm` (minutes keep counting past 59). */
export function runTime(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  const minutes = Math.floor(whole / 60_000);
  const seconds = Math.floor((whole % 60_000) / 1000);
  const millis = whole % 1000;
  return `${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(millis, 3)}`;
}

/** A delay after an action: `+38 ms`, `+60.0 s`, `+20 min 31.2 s`. */
export function delay(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1000) return `+${whole} ms`;
  if (whole < 60_000) return `+${(whole / 1000).toFixed(1)} s`;
  const minutes = Math.floor(whole / 60_000);
  return `+${minutes} min ${((whole % 60_000) / 1000).toFixed(1)} s`;
}

/** A playback position or running time: `34:25`, `2:19:00`. */
export function position(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  return hours > 0 ? `${hours}:${pad(minutes, 2)}:${pad(secs, 2)}` : `${minutes}:${pad(secs, 2)}`;
}

/** Wall time in seconds with two decimals. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** An integer with thin groups: `12 345`. */
export function count(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

function pad(n: number, width: number): string {
  return n.toString().padStart(width, "0");
}
