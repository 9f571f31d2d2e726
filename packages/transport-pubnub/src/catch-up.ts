/**
 * Catch-up from history after a reconnect (spec 9, DEVIATIONS 9; transport.ts "Catch-up after a
 * reconnect"). The SDK resumes its subscription from its last cursor by itself, but PubNub's
 * subscribe cache is short; whatever fell out of it is fetched here, page by page (100 per
 * `fetchMessages` call), and a gap is reported when history no longer reaches back.
 *
 * "Reaches back" is decided per channel from the reference point `since`:
 * - a retained message at or before `since` proves nothing after it was trimmed (retention
 *   trims oldest first), so there is no gap;
 * - otherwise, if `since` is a message this client received, that message has been trimmed,
 *   and messages between it and the oldest retained one may have gone with it: a gap;
 * - otherwise `since` is the cursor of the subscription (nothing was received on the channel):
 *   a gap only if the channel's retention could have trimmed something newer than `since`
 *   (as many retained as its count allows, or `since` older than its duration).
 * Paging stops at `maxMessages`; stopping early is reported as a gap too.
 */
import {
  type ChannelRetention,
  type Timetoken,
  type TransportMessage,
  timetokenCompare,
  timetokenToMs,
} from "@mg-sync/crdt-core";

/** PubNub's fetch range: `start` exclusive (older than), `end` inclusive; oldest first. */
export type FetchHistoryPage = (
  channel: string,
  range: { readonly start?: Timetoken; readonly end?: Timetoken; readonly count: number },
) => Promise<readonly TransportMessage[]>;

export interface CatchUpReference {
  readonly timetoken: Timetoken;
  /** True when `timetoken` is a message this client received; false for a subscription cursor. */
  readonly received: boolean;
}

export interface ChannelCatchUp {
  /** Retained messages newer than the reference, oldest first. */
  readonly messages: readonly TransportMessage[];
  readonly gap: boolean;
}

const PAGE = 100;

export async function catchUpChannel(
  fetchPage: FetchHistoryPage,
  channel: string,
  since: CatchUpReference,
  retention: ChannelRetention | undefined,
  nowMs: number,
  maxMessages: number,
): Promise<ChannelCatchUp> {
  const pages: (readonly TransportMessage[])[] = [];
  let collected = 0;
  let sawReference = false;
  let truncated = false;
  let start: Timetoken | undefined;
  for (;;) {
    const page = await fetchPage(channel, {
      end: since.timetoken,
      count: PAGE,
      ...(start !== undefined ? { start } : {}),
    });
    const newer = page.filter((m) => timetokenCompare(m.timetoken, since.timetoken) > 0);
    if (newer.length < page.length) sawReference = true;
    pages.push(newer);
    collected += newer.length;
    if (page.length < PAGE || newer.length < page.length) break;
    if (collected >= maxMessages) {
      truncated = true;
      break;
    }
    start = page[0]!.timetoken;
  }
  const messages = pages.reverse().flat();

  let gap: boolean;
  if (truncated) gap = true;
  else if (sawReference) gap = false;
  else {
    const older = await fetchPage(channel, { start: (BigInt(since.timetoken) + 1n).toString(), count: 1 });
    if (older.length > 0) gap = false;
    else if (since.received) gap = true;
    else if (retention === undefined) gap = false;
    else
      gap =
        messages.length >= retention.count || nowMs - timetokenToMs(since.timetoken) >= retention.durationMs;
  }
  return { messages, gap };
}
