/**
 * History catch-up on start (spec 9.1, DEVIATIONS 9, docs/protocol.md §7.1): fetch what a channel
 * kept since the last timetoken this device saw there, and say whether history still reaches
 * back that far.
 *
 * PubNub semantics (transport.ts `HistoryOptions`): `end` is inclusive, `start` exclusive, a page
 * holds at most 100 messages, oldest first, and without `start` it is the newest page. So we
 * page backwards: each next page ends just before the oldest message of the last one.
 *
 * "Reaches back" means the message carrying exactly the last seen timetoken came back: if it is
 * gone (trimmed by count or age), messages after it may be gone too, and the caller reconciles.
 * The fetch starts `overlapMs` before that timetoken, because across publishers messages may be
 * delivered out of timetoken order: one published just before the last one seen may still have
 * been in flight when the device stopped. Refetching a few seconds costs only duplicates, which
 * CRDT merges ignore (DEVIATIONS 6).
 */
import {
  type Timetoken,
  type Transport,
  type TransportMessage,
  timetokenCompare,
  timetokenFromMs,
  timetokenToMs,
} from "@mg-sync/crdt-core";

/** PubNub's page size and cap. */
export const HISTORY_PAGE_SIZE = 100;
/** A transport that never stops returning full pages cannot keep us here for ever. */
export const MAX_HISTORY_PAGES = 100;

export interface HistoryCatchUp {
  /** Oldest first. */
  readonly messages: readonly TransportMessage[];
  /** `undefined` without a last timetoken; otherwise whether its message was returned. */
  readonly reachedLast: boolean | undefined;
  readonly pages: number;
}

export async function fetchHistorySince(
  transport: Transport,
  channel: string,
  last: Timetoken | undefined,
  overlapMs: number,
): Promise<HistoryCatchUp> {
  let end: Timetoken | undefined;
  if (last !== undefined) {
    const fromMs = timetokenToMs(last) - overlapMs;
    end = fromMs > 0 ? timetokenFromMs(fromMs) : undefined;
  }
  const pages: (readonly TransportMessage[])[] = [];
  let reachedLast = false;
  let start: Timetoken | undefined;
  let count = 0;
  while (count < MAX_HISTORY_PAGES) {
    const { messages } = await transport.history(channel, {
      count: HISTORY_PAGE_SIZE,
      ...(start === undefined ? {} : { start }),
      ...(end === undefined ? {} : { end }),
    });
    count++;
    if (messages.length === 0) break;
    pages.push(messages);
    if (last !== undefined && !reachedLast) reachedLast = messages.some((m) => m.timetoken === last);
    if (messages.length < HISTORY_PAGE_SIZE) break;
    const oldest = messages[0]!.timetoken;
    // No progress means a misbehaving transport: stop rather than loop.
    if (start !== undefined && timetokenCompare(oldest, start) >= 0) break;
    start = oldest;
  }
  pages.reverse();
  return {
    messages: pages.flat(),
    reachedLast: last === undefined ? undefined : reachedLast,
    pages: count,
  };
}
