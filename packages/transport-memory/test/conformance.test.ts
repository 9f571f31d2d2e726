import type { Transport } from "@mg-sync/crdt-core";
import {
  type ConformanceHarness,
  runTransportConformance,
} from "../../../test/conformance/transport-conformance.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "../src/index.js";

function memoryHarness(
  options: MemoryNetworkOptions,
  driveEachCall: boolean,
): () => Promise<ConformanceHarness> {
  return async () => {
    const network = new MemoryNetwork(options);
    const opened: Transport[] = [];
    const harness: ConformanceHarness = {
      makeClient: async (id) => {
        const transport = network.client(id);
        opened.push(transport);
        return transport;
      },
      settle: () => network.runUntilQuiet(),
      cleanup: async () => {
        for (const transport of opened) await transport.close();
      },
    };
    // One run drives each call; the other leaves it to the suite's default (settle, then await).
    return driveEachCall ? { ...harness, until: (promise) => network.runUntilSettled(promise) } : harness;
  };
}

runTransportConformance("memory, ideal network", memoryHarness({ seed: 1 }, true));

runTransportConformance(
  "memory, 20% loss, 20% duplicates, 5-300 ms latency",
  memoryHarness({ seed: 2, lossRate: 0.2, duplicateRate: 0.2, latency: { minMs: 5, maxMs: 300 } }, false),
);
