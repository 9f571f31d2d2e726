/**
 * What `client.stats()` reports: every counter of the client in one place, so the runtime only
 * says `count.merged++` and the report is built in one function.
 */
import type { CommandRejection } from "@mg-sync/crdt-core";
import { INBOUND_REJECTIONS, type InboundRejection } from "./inbound.js";
import type { SyncClientPhase, SyncClientStats } from "./sync-client-api.js";

const COMMAND_REJECTIONS: readonly CommandRejection[] = [
  "expired",
  "device_offline",
  "not_supported",
  "no_active_content",
  "duplicate",
  "wrong_target",
];

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of keys) out[key] = 0;
  return out;
}

/** What the counters do not hold but the report shows: read from the runtime when asked. */
export interface LiveFigures {
  readonly phase: SyncClientPhase;
  readonly queued: number;
  readonly heartbeatIntervalSec: number;
  readonly background: boolean;
}

export class ClientCounters {
  received = 0;
  merged = 0;
  duplicates = 0;
  readonly rejected: Record<InboundRejection, number> = zeroCounts(INBOUND_REJECTIONS);
  published = 0;
  retries = 0;
  dropped = 0;
  progressUpdates = 0;
  progressSent = 0;
  commandsSent = 0;
  commandsExecuted = 0;
  commandsIgnored = 0;
  readonly commandsRejected: Record<CommandRejection, number> = zeroCounts(COMMAND_REJECTIONS);
  requested = 0;
  answered = 0;
  suppressed = 0;
  pushedBack = 0;
  chunksSent = 0;
  chunksReceived = 0;
  historyMessages = 0;
  historyPages = 0;
  historyGaps = 0;
  historyFailures = 0;
  heartbeatsSent = 0;
  transportErrors = 0;

  /** A plain, detached copy. */
  snapshot(live: LiveFigures): SyncClientStats {
    return {
      phase: live.phase,
      received: this.received,
      merged: this.merged,
      duplicates: this.duplicates,
      rejected: { ...this.rejected },
      outbox: {
        queued: live.queued,
        published: this.published,
        retries: this.retries,
        dropped: this.dropped,
      },
      progress: { updates: this.progressUpdates, sent: this.progressSent },
      commands: {
        sent: this.commandsSent,
        executed: this.commandsExecuted,
        ignored: this.commandsIgnored,
        rejected: { ...this.commandsRejected },
      },
      reconciliation: {
        requested: this.requested,
        answered: this.answered,
        suppressed: this.suppressed,
        pushedBack: this.pushedBack,
        chunksSent: this.chunksSent,
        chunksReceived: this.chunksReceived,
      },
      history: {
        messages: this.historyMessages,
        pages: this.historyPages,
        gaps: this.historyGaps,
        failures: this.historyFailures,
      },
      heartbeats: {
        sent: this.heartbeatsSent,
        intervalSec: live.heartbeatIntervalSec,
        background: live.background,
      },
      transportErrors: this.transportErrors,
    };
  }
}
