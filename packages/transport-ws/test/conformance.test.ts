/**
 * The shared Transport conformance suite (test/conformance) against WsTransport over a real
 * WsHub on 127.0.0.1, once without access control and once with tokens. `settle` polls the
 * hub's counters: it returns once every message and presence frame the hub sent has reached a
 * client of this harness and nothing moved for 10 ms, or nothing moved for 50 ms (a closed
 * client no longer counts what it is sent); it fails after 5 s.
 */
import type { Transport } from "@mg-sync/crdt-core";
import {
  type ConformanceHarness,
  runTransportConformance,
} from "../../../test/conformance/transport-conformance.js";
import { WsTransport } from "../src/index.js";
import { mintToken, WsHub } from "../src/server/index.js";
import { SECRET } from "./support.js";

/** The grants the suite needs: its channels `party.conf-*` and groups `conf-*`. */
function conformanceToken(clientId: string): string {
  return mintToken(SECRET, {
    userId: clientId,
    grants: { channelPatterns: { "party.*": ["read", "write"] }, groups: { "conf-grp": ["read", "manage"] } },
  }).token;
}

function wsHarness(secure: boolean): () => Promise<ConformanceHarness> {
  return async () => {
    const hub = new WsHub({ ...(secure ? { secret: SECRET } : { insecure: true }), logger: () => {} });
    await hub.listen(0, "127.0.0.1");
    const opened: Transport[] = [];
    let received = 0;
    return {
      makeClient: async (id) => {
        const transport = new WsTransport({
          url: hub.url,
          clientId: id,
          backoff: { baseMs: 20, maxMs: 200 },
          ...(secure ? { token: conformanceToken(id) } : {}),
        });
        transport.addListener({ message: () => received++, presence: () => received++ });
        opened.push(transport);
        return transport;
      },
      settle: async () => {
        const started = Date.now();
        let lastSent = -1;
        let lastReceived = -1;
        let quietSince = started;
        for (;;) {
          const stats = hub.stats();
          const sent = stats.messagesOut + stats.presenceEventsOut;
          const now = Date.now();
          if (sent !== lastSent || received !== lastReceived) {
            lastSent = sent;
            lastReceived = received;
            quietSince = now;
          }
          if (now - quietSince >= (sent === received ? 10 : 50)) return;
          if (now - started > 5_000)
            throw new Error(`settle: ${sent} frames sent, ${received} received after 5 s`);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      },
      until: (promise) => promise,
      cleanup: async () => {
        await Promise.all(opened.map((transport) => transport.close()));
        await hub.close();
      },
    };
  };
}

runTransportConformance("ws hub, insecure", wsHarness(false));
runTransportConformance("ws hub, with tokens", wsHarness(true));
