/**
 * The spec's scenarios on the simulated network (virtual time, spec timings, 5 % loss and 10 %
 * duplicates), as issue 5 §4 asks; the same scenario code runs over the WebSocket hub and the
 * PubNub emulator in those packages' `test/scenarios.test.ts`.
 */

import { memoryHousehold } from "./memory-household.js";
import { describeSpecScenarios } from "./spec-scenarios.js";

describeSpecScenarios("the memory network", async () => memoryHousehold());
