/**
 * Remote commands (spec 3.4, 6.3; DEVIATIONS 8): sending one to another device of the user, and
 * deciding on those sent to this one. Both sides run crdt-core's `validateCommand`: the sender
 * against what presence knows of the target (so a command bound to fail is refused at once),
 * the target against itself, its HLC and its dedup window (persisted in the snapshot).
 */
import {
  activityContentId,
  type CommandDedupWindow,
  type CommandRejection,
  type CommandTarget,
  commandDedupAdd,
  commandDedupEmpty,
  type DeviceActivity,
  type Hlc,
  type RemoteCommand,
  type RemoteCommandMessage,
  validateCommand,
} from "@mg-sync/crdt-core";
import { checkOutgoing } from "./check-outgoing.js";
import type { ClientCounters } from "./client-counters.js";
import type { DevicePresence } from "./device-presence.js";
import type { ResolvedOptions } from "./options.js";
import { type CommandHandler, CommandRejectedError, type SendCommandOptions } from "./sync-client-api.js";

/** What remote commands need from their client. */
export interface RemoteCommandsHost {
  readonly deviceId: string;
  /** Command ids are `{incarnation}:{hlc}`. */
  readonly incarnation: string;
  readonly options: Pick<ResolvedOptions, "commandTtlMs" | "capabilities">;
  /** What we know of a target device. */
  readonly presence: Pick<DevicePresence, "view">;
  readonly count: Pick<
    ClientCounters,
    "commandsSent" | "commandsExecuted" | "commandsIgnored" | "commandsRejected"
  >;
  tick(): Hlc;
  isLive(): boolean;
  /** What this device's player is doing (a command may need content on screen). */
  playback(): DeviceActivity;
  /** Queues a command on the devices channel; settles once the transport has it. */
  publish(message: RemoteCommandMessage): Promise<unknown>;
  /** A command for this device refused (the `commandRejected` event). */
  rejected(reason: CommandRejection, message: RemoteCommandMessage): void;
  fail(error: unknown, context: string): void;
}

export class RemoteCommands {
  readonly #host: RemoteCommandsHost;
  readonly #handlers = new Set<CommandHandler>();
  #window: CommandDedupWindow = commandDedupEmpty();

  /** `seen`: the command ids a restored snapshot remembers, oldest first. */
  constructor(host: RemoteCommandsHost, seen: readonly string[]) {
    this.#host = host;
    for (const commandId of seen) this.#window = commandDedupAdd(this.#window, commandId);
  }

  /** The dedup window's command ids, oldest first (for the snapshot). */
  seen(): string[] {
    return [...this.#window.older, ...this.#window.newer];
  }

  /**
   * Builds, checks and queues a command (`client.sendCommand`, which checks it is writable
   * first and waits for `published`). Throws what `sendCommand` rejects with.
   */
  send(
    targetDeviceId: string,
    command: RemoteCommand,
    options: SendCommandOptions,
  ): { readonly commandId: string; readonly published: Promise<unknown> } {
    const ttlMs = options.ttlMs ?? this.#host.options.commandTtlMs;
    if (typeof ttlMs !== "number" || !(ttlMs > 0)) {
      throw new RangeError(`sendCommand: options.ttlMs must be a positive number, got ${String(ttlMs)}`);
    }
    const timestamp = this.#host.tick();
    const commandId = `${this.#host.incarnation}:${timestamp}`;
    const message = checkOutgoing<RemoteCommandMessage>("sendCommand", {
      msg_type: "remote_command",
      target_device_id: targetDeviceId,
      source_device_id: this.#host.deviceId,
      command,
      timestamp,
      expires_at: timestamp + Math.floor(ttlMs) * 1000,
      command_id: commandId,
    });
    const target =
      targetDeviceId === this.#host.deviceId ? this.#self() : this.#host.presence.view(targetDeviceId);
    const verdict = validateCommand(message, target, timestamp, commandDedupEmpty(1));
    if (!verdict.ok) throw new CommandRejectedError(verdict.reason, commandId, targetDeviceId);
    this.#host.count.commandsSent++;
    return { commandId, published: this.#host.publish(message) };
  }

  onCommand(handler: CommandHandler): () => void {
    if (typeof handler !== "function") throw new TypeError("onCommand: handler must be a function");
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  /** A command heard on the devices channel; `receivedAt`: our HLC after receiving it. */
  receive(message: RemoteCommandMessage, receivedAt: Hlc): void {
    if (message.target_device_id !== this.#host.deviceId) {
      this.#host.count.commandsIgnored++;
      return;
    }
    // Expiry on our HLC after receiving the command's timestamp (DEVIATIONS 8).
    const verdict = validateCommand(message, this.#self(), receivedAt, this.#window);
    this.#window = verdict.seen;
    if (!verdict.ok) {
      this.#host.count.commandsRejected[verdict.reason]++;
      this.#host.rejected(verdict.reason, message);
      return;
    }
    this.#host.count.commandsExecuted++;
    for (const handler of [...this.#handlers]) {
      try {
        handler(message.command, message);
      } catch (error) {
        this.#host.fail(error, "a command handler threw");
      }
    }
  }

  #self(): CommandTarget {
    return {
      deviceId: this.#host.deviceId,
      online: this.#host.isLive(),
      capabilities: this.#host.options.capabilities,
      currentContent: activityContentId(this.#host.playback()),
    };
  }
}
