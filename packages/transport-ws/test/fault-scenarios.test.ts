/**
 * Server faults with three sync clients at work (issue 6 §4: "after reconnect every device holds
 * every acknowledged message's effect"): the hub restarts mid-burst with empty stores, so every
 * device's catch-up reports a gap and reconciliation restores what history lost; every device's
 * sockets drop mid-burst. The hub speaks no HTTP errors, so the error-answer scenario is the
 * PubNub emulator's alone.
 */
import { describeFaultScenarios } from "../../../test/scenarios/fault-scenarios.js";
import { hubHousehold } from "./hub-household.js";

describeFaultScenarios("the WebSocket hub", hubHousehold, { errorAnswers: false });
