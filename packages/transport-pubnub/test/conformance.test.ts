/**
 * The shared Transport conformance suite (test/conformance/transport-conformance.ts) against
 * PubNubTransport: the unmodified SDK over real HTTP to a fresh emulator per test.
 */
import type { Transport } from "@mg-sync/crdt-core";
import {
  type ConformanceHarness,
  runTransportConformance,
} from "../../../test/conformance/transport-conformance.js";
import { PubNubEmulator } from "../src/emulator/index.js";
import { PubNubTransport } from "../src/index.js";

/** Waits until the emulator has seen no new request for a while (bounded: about 3 s). */
async function quiet(emulator: PubNubEmulator): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 60));
    const seen = emulator.requests.length;
    if (seen === last) return;
    last = seen;
  }
}

runTransportConformance("pubnub SDK → local PubNub emulator", async (): Promise<ConformanceHarness> => {
  const emulator = await PubNubEmulator.start();
  const opened: Transport[] = [];
  return {
    makeClient: async (id) => {
      const transport = new PubNubTransport({
        origin: emulator.origin,
        ssl: false,
        subscribeKey: "sub-c-conformance",
        publishKey: "pub-c-conformance",
        userId: id,
      });
      opened.push(transport);
      return transport;
    },
    settle: () => quiet(emulator),
    until: (promise) => promise,
    cleanup: async () => {
      for (const transport of opened) await transport.close();
      await emulator.stop();
    },
  };
});
