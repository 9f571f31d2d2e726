/**
 * Where catch-up resumes only moves past what has arrived: live timetokens seen while any
 * catch-up runs (ours at start, the transport's after a drop) are held back until none does
 * (simulation bug E).
 */
import { describe, expect, it } from "vitest";
import { LastTimetokens } from "../src/last-timetokens.js";

const SYNC = "user.alice.sync";

describe("LastTimetokens", () => {
  it("adopts live and history timetokens at once when nothing is catching up, never moving back", () => {
    const last = new LastTimetokens({ [SYNC]: "100" });
    last.track(SYNC, "120", "live");
    last.track(SYNC, "110", "history");
    expect(last.get(SYNC)).toBe("120");
  });

  it("holds live timetokens back during the transport's replay and adopts them at its end", () => {
    const last = new LastTimetokens({ [SYNC]: "100" });
    last.beginCatchUp("transport");
    last.track(SYNC, "300", "live"); // our own publish, echoed before the replay's older message
    expect(last.get(SYNC)).toBe("100");
    expect(last.toRecord()).toEqual({ [SYNC]: "100" });
    last.endCatchUp("transport");
    expect(last.get(SYNC)).toBe("300");
  });

  it("adopts nothing until every catch-up has ended, whatever order they end in", () => {
    const last = new LastTimetokens({});
    last.beginCatchUp("history");
    last.beginCatchUp("transport");
    last.track(SYNC, "200", "live");
    last.track(SYNC, "150", "history");
    expect(last.get(SYNC)).toBe("150");
    last.endCatchUp("history");
    expect(last.get(SYNC)).toBe("150");
    last.endCatchUp("transport");
    expect(last.get(SYNC)).toBe("200");
  });
});
