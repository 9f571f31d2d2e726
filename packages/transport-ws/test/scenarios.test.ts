/**
 * The spec's scenarios (test/scenarios/spec-scenarios.ts, the same code the memory network
 * runs) with three sync clients over a real WsHub on 127.0.0.1 (issue 6 §4), each device behind
 * its own cuttable TCP proxy (see hub-household.ts).
 */
import { describeSpecScenarios } from "../../../test/scenarios/spec-scenarios.js";
import { hubHousehold } from "./hub-household.js";

describeSpecScenarios("the WebSocket hub", hubHousehold);
