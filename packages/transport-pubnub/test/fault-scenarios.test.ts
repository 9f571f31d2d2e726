/**
 * Server faults with three sync clients at work (issue 7 §3: "the server restarts mid-stream,
 * answers 500s, drops sockets ⇒ the SDK's retry/restore resumes, every device converges,
 * nothing acknowledged is lost"), over the real SDK and the emulator: a restart mid-burst (state
 * kept), every device's sockets dropped mid-burst, and 30 requests answered 500 then 10
 * answered 429 with Retry-After, whatever endpoint they hit.
 */
import { describeFaultScenarios } from "../../../test/scenarios/fault-scenarios.js";
import { emulatorHousehold } from "./emulator-household.js";

describeFaultScenarios("the PubNub SDK and emulator", emulatorHousehold, { errorAnswers: true });
