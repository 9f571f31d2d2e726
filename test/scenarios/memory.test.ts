/**
 * The spec's scenarios on the simulated network (virtual time, spec timings, 5 % loss and 10 %
 * duplicates), as issue 5 §4 asks; the same scenario code runs over the WebSocket hub and the
 * PubNub emulator in those packages' `test/scenarios.test.ts`.
 */

import { test } from "vitest";
import { memoryHousehold } from "./memory-household.js";
import { describeSpecScenarios, restartFromSnapshotMidBurst } from "./spec-scenarios.js";

describeSpecScenarios("the memory network", async () => memoryHousehold());

// Over real sockets this scenario does not settle yet: the household's restart closes the dead
// client's transport but leaves its timers running, so the run never goes quiet (see the
// session note); until the real-time households can kill a client, it runs here only.
test("nothing lost: a device cut and killed mid-burst restarts from its snapshot", async () => {
  const household = await memoryHousehold();
  try {
    await restartFromSnapshotMidBurst(household);
  } finally {
    await household.close();
  }
});
