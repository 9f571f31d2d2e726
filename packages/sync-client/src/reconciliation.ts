/**
 * Answering reconciliation requests (spec 6.4, DEVIATIONS 9, docs/protocol.md §7).
 *
 * Any replica that holds the state may answer. To keep a household of devices from all
 * answering at once, each waits a random delay (the injected random, so a seeded simulation
 * replays). Responses to the same `request_id` from other devices that arrive meanwhile are
 * joined into a scratch state; when the delay ends, the client stays silent only if its own
 * state is already contained in that join (docs/protocol.md §7.1 step 3). A plain "someone
 * answered first" rule would let a device that missed something (it was away too) silence one
 * that has it, and the requester would never learn it. Extra answers cost bandwidth, never
 * correctness: every chunk is a delta.
 */
import {
  applyMessageInto,
  type CancelTimer,
  DoubleSpentDotError,
  ENCRYPTED_TEXT_PREFIX,
  encryptedTextLength,
  MAX_MESSAGE_BYTES,
  NONCE_BYTES,
  type Random,
  reconciliationRequestId,
  type Scheduler,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
  syncStateEmpty,
  TAG_BYTES,
  type UserSyncState,
} from "@mg-sync/crdt-core";

export interface DelayRange {
  readonly min: number;
  readonly max: number;
}

/** Spec 10.1 wants a full state within 500 ms (p99): answer within the first 300. */
export const DEFAULT_RECONCILIATION_DELAY_MS: DelayRange = Object.freeze({ min: 20, max: 300 });

/** Request ids remembered, so a redelivered request is not answered twice. */
const REMEMBERED_REQUESTS = 256;
/** Requests whose answers arrived first, kept until the request does (a few at most). */
const REMEMBERED_EARLY = 16;

/** `{"enc":""}`: the JSON around an envelope's text. */
const ENVELOPE_JSON_BYTES = '{"enc":""}'.length;

/**
 * The largest plaintext message (UTF-8 JSON bytes) that still fits `maxMessageBytes` once
 * published: as is, or sealed in the `{enc}` envelope on an encrypted channel. Never more than
 * `MAX_MESSAGE_BYTES`, which receivers enforce on the plaintext (DEVIATIONS 11).
 */
export function chunkBudgetBytes(maxMessageBytes: number, encrypted: boolean): number {
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes <= 0) {
    throw new RangeError(`maxMessageBytes must be a positive integer, got ${String(maxMessageBytes)}`);
  }
  if (!encrypted) return Math.min(maxMessageBytes, MAX_MESSAGE_BYTES);
  // Base64 turns 3 bytes into 4 characters: invert, then step down past rounding.
  const room = maxMessageBytes - ENVELOPE_JSON_BYTES - ENCRYPTED_TEXT_PREFIX.length;
  let plaintext = Math.floor((room * 3) / 4) - NONCE_BYTES - TAG_BYTES;
  while (plaintext > 0 && ENVELOPE_JSON_BYTES + encryptedTextLength(plaintext) > maxMessageBytes) plaintext--;
  if (plaintext <= 0)
    throw new RangeError(`maxMessageBytes ${maxMessageBytes} leaves no room for an envelope`);
  return Math.min(plaintext, MAX_MESSAGE_BYTES);
}

/**
 * Decides when to answer; the client decides whether (`others`: the join of the other devices'
 * responses seen while waiting, `undefined` if none arrived).
 */
export type AnswerRequest = (
  request: StateReconciliationRequestMessage,
  requestId: string,
  others: UserSyncState | undefined,
) => void;

interface Waiting {
  readonly cancel: CancelTimer;
  others: UserSyncState | undefined;
}

export class ReconciliationResponder {
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #delay: DelayRange;
  readonly #answer: AnswerRequest;
  readonly #waiting = new Map<string, Waiting>();
  /** Insertion-ordered: the oldest is forgotten first. */
  readonly #handled = new Set<string>();
  /** Answers to requests not seen yet, joined per request id. */
  readonly #early = new Map<string, UserSyncState>();

  constructor(scheduler: Scheduler, random: Random, delay: DelayRange, answer: AnswerRequest) {
    this.#scheduler = scheduler;
    this.#random = random;
    this.#delay = delay;
    this.#answer = answer;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  /** A request from another device: considered after a random delay. Duplicates are ignored. */
  onRequest(request: StateReconciliationRequestMessage): void {
    const requestId = reconciliationRequestId(request);
    if (this.#handled.has(requestId)) return;
    this.#remember(requestId);
    const { min, max } = this.#delay;
    const delayMs = min + (max - min) * this.#random();
    const early = this.#early.get(requestId);
    this.#early.delete(requestId);
    const waiting: Waiting = {
      cancel: this.#scheduler.schedule(delayMs, () => {
        this.#waiting.delete(requestId);
        this.#answer(request, requestId, waiting.others);
      }),
      others: early,
    };
    this.#waiting.set(requestId, waiting);
  }

  /** Another device's response chunk to `requestId`. */
  onOtherResponse(requestId: string, response: StateReconciliationResponseMessage): void {
    let others = this.#waiting.get(requestId)?.others;
    if (others === undefined) {
      if (this.#waiting.has(requestId)) {
        others = syncStateEmpty();
        this.#waiting.get(requestId)!.others = others;
      } else if (!this.#handled.has(requestId)) {
        // Before the request itself (publishers are not ordered with each other): kept, so the
        // request is judged against every answer seen, whichever arrived first.
        others = this.#early.get(requestId);
        if (others === undefined) {
          others = syncStateEmpty();
          this.#early.set(requestId, others);
          if (this.#early.size > REMEMBERED_EARLY) {
            const oldest = this.#early.keys().next().value;
            if (oldest !== undefined) this.#early.delete(oldest);
          }
        }
      } else {
        return; // Already decided.
      }
    }
    try {
      applyMessageInto(others, response);
    } catch (error) {
      // The client refuses such a chunk on its own path too; here it just proves nothing.
      if (!(error instanceof DoubleSpentDotError)) throw error;
    }
  }

  cancelAll(): void {
    for (const waiting of this.#waiting.values()) waiting.cancel();
    this.#waiting.clear();
    this.#early.clear();
  }

  #remember(requestId: string): void {
    this.#handled.add(requestId);
    if (this.#handled.size > REMEMBERED_REQUESTS) {
      const oldest = this.#handled.values().next().value;
      if (oldest !== undefined) this.#handled.delete(oldest);
    }
  }
}
