/**
 * Remote commands (spec 3.4, 6.3; DEVIATIONS 6, 8): run once on the target; refused when
 * expired (judged on the receiver's HLC), when the target is offline or cannot be controlled,
 * and when a copy was already decided.
 */
import type { RemoteCommand, RemoteCommandMessage } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { CommandRejectedError, type SyncClient } from "../src/index.js";
import { DEVICES_CHANNEL, newClient, newNetwork, settle, startAll } from "./support/household.js";

function recordCommands(client: SyncClient): RemoteCommand[] {
  const out: RemoteCommand[] = [];
  client.onCommand((command) => out.push(command));
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<CommandRejectedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CommandRejectedError) return error;
    throw error;
  }
  throw new Error("expected a CommandRejectedError");
}

describe("remote commands", () => {
  it("runs a command once on its target (phone controls TV)", async () => {
    const network = newNetwork(50, { duplicateRate: 0.5 });
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    await startAll(network, [phone, tv, web]);
    const onTv = recordCommands(tv);
    const onWeb = recordCommands(web);

    const command: RemoteCommand = {
      type: "LoadContent",
      params: { content_id: "tmdb:550", start_position: 3245 },
    };
    const { commandId } = await network.runUntilSettled(phone.sendCommand("tv", command));
    await network.runUntilSettled(phone.sendCommand("tv", { type: "VolumeSet", params: { level: 0.3 } }));
    await settle(network, [phone, tv, web]);

    expect(commandId).toMatch(/^phone~[0-9a-z]{8}:\d+$/);
    expect(onTv).toEqual([command, { type: "VolumeSet", params: { level: 0.3 } }]);
    expect(onWeb).toEqual([]);
    expect(tv.stats().commands.executed).toBe(2);
    expect(web.stats().commands.ignored).toBeGreaterThanOrEqual(2);
    expect(phone.stats().commands.sent).toBe(2);
  });

  it("refuses at the sender a target that is offline or not controllable", async () => {
    const network = newNetwork(51);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    await startAll(network, [phone, tv, web]);

    // The phone announces remote_controllable: false (spec 6.3 step 3).
    expect((await rejection(web.sendCommand("phone", { type: "Pause" }))).reason).toBe("not_supported");
    // Seek needs content loaded on the target.
    expect(
      (await rejection(phone.sendCommand("tv", { type: "Seek", params: { position_seconds: 5 } }))).reason,
    ).toBe("no_active_content");
    expect((await rejection(phone.sendCommand("nobody", { type: "Play" }))).reason).toBe("device_offline");

    // A graceful stop takes the TV offline at once (spec 8.2).
    await network.runUntilSettled(tv.stop());
    await settle(network, [phone, web]);
    expect(phone.devices().find((d) => d.deviceId === "tv")?.online).toBe(false);
    expect((await rejection(phone.sendCommand("tv", { type: "Play" }))).reason).toBe("device_offline");
  });

  it("refuses at the receiver: expired, duplicate, not supported", async () => {
    const network = newNetwork(52);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    const onTv = recordCommands(tv);
    const onPhone = recordCommands(phone);
    const rejected: string[] = [];
    tv.on("commandRejected", (reason) => rejected.push(reason));
    phone.on("commandRejected", (reason) => rejected.push(`phone:${reason}`));

    // Expired: the TV is cut off when the command is sent and back 20 s later; the transport
    // replays the command from history then, long after its 5 s.
    network.partition([["phone"], ["tv"]]);
    const sent = phone.sendCommand("tv", { type: "Pause" });
    await network.runFor(20_000);
    network.heal();
    await network.runUntilSettled(sent);
    await settle(network, [phone, tv]);
    expect(onTv).toEqual([]);
    expect(tv.stats().commands.rejected.expired).toBe(1);

    // Duplicate and not-supported: a raw publisher sends what sendCommand would have refused.
    const raw = network.client("web");
    const now = tv.snapshot().hlc + 1;
    const command = (target: string, id: string): RemoteCommandMessage => ({
      msg_type: "remote_command",
      target_device_id: target,
      source_device_id: "web",
      command: { type: "Play" },
      timestamp: now,
      expires_at: now + 5_000_000,
      command_id: id,
    });
    await network.runUntilSettled(raw.publish(DEVICES_CHANNEL, command("tv", "cmd-1")));
    await network.runUntilSettled(raw.publish(DEVICES_CHANNEL, command("tv", "cmd-1")));
    await network.runUntilSettled(raw.publish(DEVICES_CHANNEL, command("phone", "cmd-2")));
    await settle(network, [phone, tv]);

    expect(onTv).toEqual([{ type: "Play" }]);
    expect(onPhone).toEqual([]);
    expect(tv.stats().commands.rejected).toMatchObject({ expired: 1, duplicate: 1 });
    expect(phone.stats().commands.rejected.not_supported).toBe(1);
    expect(rejected).toEqual(["expired", "duplicate", "phone:not_supported"]);
  });
});
