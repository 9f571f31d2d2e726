/**
 * Watch parties (spec 4.3, channel `party.{partyId}`): chat, emoji, reactions and playback sync
 * among the people watching together. Not CRDT state: each message is an event, delivered once
 * (feeds.ts dedups by content), sent through the client's outbox (in order, retried) and shown
 * to the sender at once.
 */
import {
  type ChatContent,
  type Hlc,
  type PartyChatMessage,
  parseMessage,
  partyChannel,
} from "@mg-sync/crdt-core";
import type { FeedListener, FeedMeta } from "./feeds.js";

/** What a party needs from its client. */
export interface WatchPartyHost {
  readonly userId: string;
  tick(): Hlc;
  /** Queues a message in the outbox. */
  publish(channel: string, message: PartyChatMessage): void;
  /** Registers the party's listener on its channel (subscribing the transport). */
  listen(channel: string, listener: FeedListener<PartyChatMessage>): Promise<() => Promise<void>>;
  /** Delivers a message to the channel's listeners as if it had arrived (dedup included). */
  deliverLocal(message: PartyChatMessage, meta: FeedMeta): void;
  /** Feeds the newest `count` messages of the channel's history through the inbound path. */
  catchUp(channel: string, count: number): Promise<void>;
}

/** Messages kept for the first listener. */
const MAX_EARLY = 200;

export interface JoinPartyOptions {
  /** Shown next to this user's messages (spec 4.3 `user_display_name`). */
  readonly displayName: string;
  /** Recent messages to replay from history on joining (default 25; 0 for none). */
  readonly history?: number;
}

export interface WatchParty {
  readonly partyId: string;
  readonly channel: string;
  say(text: string): PartyChatMessage;
  emoji(emoji: string): PartyChatMessage;
  /** Reacts to the message stamped `targetTimestamp`. */
  react(reactionType: string, targetTimestamp: Hlc): PartyChatMessage;
  /** Asks everyone's player to this position. */
  syncPlayback(positionSeconds: number): PartyChatMessage;
  /**
   * Messages of the party, ours included, once each; the first listener also gets what arrived
   * since joining (the history replay). Returns the function that removes it.
   */
  on(listener: FeedListener<PartyChatMessage>): () => void;
  leave(): Promise<void>;
}

export async function joinWatchParty(
  host: WatchPartyHost,
  partyId: string,
  options: JoinPartyOptions,
): Promise<WatchParty> {
  const channel = partyChannel(partyId);
  const displayName = options.displayName;
  if (typeof displayName !== "string" || displayName.length === 0) {
    throw new TypeError("joinParty: options.displayName must be a non-empty string");
  }
  const history = options.history ?? 25;
  if (!Number.isSafeInteger(history) || history < 0 || history > 100) {
    throw new RangeError(`joinParty: options.history must be an integer in 0..100, got ${String(history)}`);
  }
  const listeners = new Set<FeedListener<PartyChatMessage>>();
  // What arrives before the app's first `on` (the history replay, at least) waits for it.
  let early: Array<[PartyChatMessage, FeedMeta]> | undefined = [];
  let left = false;
  const stopListening = await host.listen(channel, (message, meta) => {
    if (early !== undefined) {
      if (early.length < MAX_EARLY) early.push([message, meta]);
      return;
    }
    for (const listener of [...listeners]) listener(message, meta);
  });
  if (history > 0) await host.catchUp(channel, history);

  const send = (content: ChatContent): PartyChatMessage => {
    if (left) throw new Error(`party ${partyId}: already left`);
    const parsed = parseMessage({
      msg_type: "party_chat",
      party_id: partyId,
      user_id: host.userId,
      user_display_name: displayName,
      message: content,
      timestamp: host.tick(),
    });
    if (!parsed.ok || parsed.value.msg_type !== "party_chat") {
      const error = parsed.ok ? { path: "msg_type", reason: "not a party message" } : parsed.error;
      throw new RangeError(`party ${partyId}: ${error.path} ${error.reason}`);
    }
    const message = parsed.value;
    host.deliverLocal(message, { channel, timetoken: "0", fromHistory: false });
    host.publish(channel, message);
    return message;
  };

  return {
    partyId,
    channel,
    say: (text) => send({ type: "Text", data: { text } }),
    emoji: (emoji) => send({ type: "Emoji", data: { emoji } }),
    react: (reactionType, targetTimestamp) =>
      send({ type: "Reaction", data: { reaction_type: reactionType, target_timestamp: targetTimestamp } }),
    syncPlayback: (positionSeconds) =>
      send({ type: "PlaybackSync", data: { position_seconds: positionSeconds } }),
    on(listener) {
      listeners.add(listener);
      const waiting = early;
      early = undefined;
      for (const [message, meta] of waiting ?? []) listener(message, meta);
      return () => {
        listeners.delete(listener);
      };
    },
    async leave() {
      if (left) return;
      left = true;
      listeners.clear();
      await stopListening();
    },
  };
}
