/**
 * The spec's scenarios (test/scenarios/spec-scenarios.ts, the same code the memory network
 * runs) with three sync clients over the unmodified PubNub SDK and the local PubNub emulator on
 * 127.0.0.1 (issue 7 §3), each device behind its own cuttable TCP proxy (see
 * emulator-household.ts).
 */
import { describeSpecScenarios } from "../../../test/scenarios/spec-scenarios.js";
import { emulatorHousehold } from "./emulator-household.js";

describeSpecScenarios("the PubNub SDK and emulator", emulatorHousehold);
