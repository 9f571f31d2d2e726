import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANALYTICS_VIEWING,
  CHANNEL_KINDS,
  CHANNEL_MESSAGE_TYPES,
  CHANNEL_RETENTION,
  type ChannelInfo,
  type ChannelKind,
  channelAccepts,
  channelMatchesPattern,
  channelName,
  channelPatternToRegExpSource,
  channelRetention,
  type DataChannelInfo,
  DEFAULT_CHANNEL_RETENTION,
  GLOBAL_ANNOUNCEMENTS,
  GLOBAL_TRENDING,
  isPresenceChannel,
  MAX_CHANNEL_ID_LENGTH,
  MAX_CHANNEL_NAME_LENGTH,
  parseChannel,
  parsePresenceChannel,
  parseUserChannelGroup,
  partyChannel,
  platformCatalogChannel,
  platformStatusChannel,
  presenceChannel,
  regionUpdatesChannel,
  userChannelGroup,
  userDevicesChannel,
  userGroupChannels,
  userNotificationsChannel,
  userSyncChannel,
  validateChannelId,
  validateChannelPattern,
} from "../src/channels.js";

// Printable ASCII minus what PubNub forbids or reserves (research doc, PubNub channel-name rules).
const ID_CHARS = [...Array(0x7e - 0x20).keys()]
  .map((i) => String.fromCharCode(0x21 + i))
  .filter((ch) => !".,:*/\\".includes(ch));

const channelId = fc
  .string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: MAX_CHANNEL_ID_LENGTH })
  .filter((id) => !id.endsWith("-pnpres"));

const dataChannelInfo: fc.Arbitrary<DataChannelInfo> = fc.oneof(
  channelId.map((userId): DataChannelInfo => ({ kind: "user.sync", userId })),
  channelId.map((userId): DataChannelInfo => ({ kind: "user.devices", userId })),
  channelId.map((userId): DataChannelInfo => ({ kind: "user.notifications", userId })),
  fc.constant<DataChannelInfo>({ kind: "global.trending" }),
  fc.constant<DataChannelInfo>({ kind: "global.announcements" }),
  channelId.map((region): DataChannelInfo => ({ kind: "region.updates", region })),
  channelId.map((platformId): DataChannelInfo => ({ kind: "platform.catalog", platformId })),
  channelId.map((platformId): DataChannelInfo => ({ kind: "platform.status", platformId })),
  fc.constant<DataChannelInfo>({ kind: "analytics.viewing" }),
  channelId.map((partyId): DataChannelInfo => ({ kind: "party", partyId })),
);

const channelInfo: fc.Arbitrary<ChannelInfo> = fc.oneof(
  { weight: 3, arbitrary: dataChannelInfo },
  { weight: 1, arbitrary: dataChannelInfo.map((channel): ChannelInfo => ({ kind: "presence", channel })) },
);

const LONGEST_ID = "x".repeat(MAX_CHANNEL_ID_LENGTH);

/** One example of every kind, all carrying `id`. */
function everyKind(id: string): ChannelInfo[] {
  const data: DataChannelInfo[] = [
    { kind: "user.sync", userId: id },
    { kind: "user.devices", userId: id },
    { kind: "user.notifications", userId: id },
    { kind: "global.trending" },
    { kind: "global.announcements" },
    { kind: "region.updates", region: id },
    { kind: "platform.catalog", platformId: id },
    { kind: "platform.status", platformId: id },
    { kind: "analytics.viewing" },
    { kind: "party", partyId: id },
  ];
  return [...data, ...data.map((channel): ChannelInfo => ({ kind: "presence", channel }))];
}

describe("builders", () => {
  it("build the names of spec 2.1 and 4.1-4.4", () => {
    expect(userSyncChannel("alice")).toBe("user.alice.sync");
    expect(userDevicesChannel("alice")).toBe("user.alice.devices");
    expect(userNotificationsChannel("alice")).toBe("user.alice.notifications");
    expect(GLOBAL_TRENDING).toBe("global.trending");
    expect(GLOBAL_ANNOUNCEMENTS).toBe("global.announcements");
    expect(regionUpdatesChannel("us-east")).toBe("region.us-east.updates");
    expect(platformCatalogChannel("netflix")).toBe("platform.netflix.catalog");
    expect(platformStatusChannel("netflix")).toBe("platform.netflix.status");
    expect(ANALYTICS_VIEWING).toBe("analytics.viewing");
    expect(partyChannel("p-42")).toBe("party.p-42");
    expect(presenceChannel("user.alice.devices")).toBe("user.alice.devices-pnpres");
  });

  it("keep every name, presence channels included, within PubNub's 92 characters", () => {
    for (const info of everyKind(LONGEST_ID)) {
      expect(channelName(info).length).toBeLessThanOrEqual(MAX_CHANNEL_NAME_LENGTH);
    }
    expect(userChannelGroup(LONGEST_ID).length).toBeLessThanOrEqual(MAX_CHANNEL_NAME_LENGTH);
  });

  it("throw a RangeError naming the argument for a bad id, a TypeError for a non-string", () => {
    expect(() => userSyncChannel("a.b")).toThrow(RangeError);
    expect(() => userSyncChannel("a.b")).toThrow(/^userId contains "\."/);
    expect(() => regionUpdatesChannel("")).toThrow(/^region must not be empty/);
    expect(() => platformCatalogChannel("net flix")).toThrow(/^platformId contains whitespace/);
    expect(() => platformStatusChannel("a*")).toThrow(/^platformId contains "\*"/);
    expect(() => partyChannel("x".repeat(MAX_CHANNEL_ID_LENGTH + 1))).toThrow(/^partyId is 65 characters/);
    expect(() => userChannelGroup("a,b")).toThrow(/^userId contains ","/);
    expect(() => userDevicesChannel(42 as unknown as string)).toThrow(TypeError);
    expect(() => userNotificationsChannel(null as unknown as string)).toThrow(/^userId must be a string/);
    expect(() => presenceChannel("user.alice.devices-pnpres")).toThrow(RangeError);
    expect(() => presenceChannel("nope")).toThrow(/^channel is not a data channel/);
  });

  it("channelName rejects a presence channel nested in a presence channel", () => {
    const nested = { kind: "presence", channel: { kind: "presence", channel: { kind: "global.trending" } } };
    expect(() => channelName(nested as unknown as ChannelInfo)).toThrow(RangeError);
  });
});

describe("parseChannel", () => {
  it("round-trips every kind: parse(name(info)) is info", () => {
    fc.assert(
      fc.property(channelInfo, (info) => {
        const name = channelName(info);
        expect(parseChannel(name)).toEqual({ ok: true, value: info });
      }),
    );
  });

  it("round-trips the longest ids", () => {
    for (const info of everyKind(LONGEST_ID)) {
      expect(parseChannel(channelName(info))).toEqual({ ok: true, value: info });
    }
  });

  it("gives the kinds of the issue's examples", () => {
    expect(parseChannel("user.alice.sync")).toEqual({
      ok: true,
      value: { kind: "user.sync", userId: "alice" },
    });
    expect(parseChannel("global.trending")).toEqual({ ok: true, value: { kind: "global.trending" } });
    expect(parseChannel("region.uk.updates")).toEqual({
      ok: true,
      value: { kind: "region.updates", region: "uk" },
    });
    expect(parseChannel("platform.hulu.catalog")).toEqual({
      ok: true,
      value: { kind: "platform.catalog", platformId: "hulu" },
    });
    expect(parseChannel("party.movie-night")).toEqual({
      ok: true,
      value: { kind: "party", partyId: "movie-night" },
    });
  });

  it("never throws, and accepts only canonical names (name(parse(s)) is s)", () => {
    const segment = fc.oneof(
      fc.constantFrom("user", "global", "region", "platform", "party", "analytics", "sync", "devices"),
      fc.constantFrom("notifications", "trending", "announcements", "updates", "catalog", "status"),
      fc.constantFrom("viewing", "", "a", "-pnpres", "*", " ", "x-pnpres", "é"),
      fc.string({ maxLength: 4 }),
    );
    const nameLike = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(".")),
      fc.string({ maxLength: 100 }),
    );
    fc.assert(
      fc.property(nameLike, (name) => {
        const parsed = parseChannel(name);
        if (parsed.ok) expect(channelName(parsed.value)).toBe(name);
        else expect(parsed.error.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it("rejects unknown shapes with a reason", () => {
    const unknown = [
      "",
      "user",
      "user.alice",
      "user.alice.foo",
      "USER.alice.sync",
      "global",
      "global.",
      "global.foo",
      "global.trending.x",
      "analytics",
      "analytics.viewing.x",
      "region.us.update",
      "region.us",
      "platform.netflix.catalogs",
      "platform.netflix",
      "party",
      "foo.bar",
      "sync",
      "x-pnpres",
      "global.trending-pnpres-pnpres",
      "-pnpres",
    ];
    for (const name of unknown) {
      const parsed = parseChannel(name);
      expect(parsed.ok, name).toBe(false);
      if (!parsed.ok) expect(parsed.error.reason).toMatch(/unknown channel|must not be empty/);
    }
  });

  it("rejects names over 92 characters", () => {
    const parsed = parseChannel(`party.${"x".repeat(90)}`);
    expect(parsed).toEqual({
      ok: false,
      error: { path: "", reason: "channel name is 96 characters long; PubNub allows at most 92" },
    });
    expect(parseChannel(`user.${"x".repeat(80)}.sync-pnpres`).ok).toBe(false);
  });

  it("names the id field at fault", () => {
    const cases: [string, string, RegExp][] = [
      ["user.a b.sync", "userId", /whitespace/],
      ["user..devices", "userId", /must not be empty/],
      ["region.u:s.updates", "region", /":"/],
      ["platform.a/b.status", "platformId", /"\/"/],
      ["party.a.b", "partyId", /"\."/],
      ["party.a,b", "partyId", /","/],
      ["party.x-pnpres-pnpres", "partyId", /ends with "-pnpres"/],
      ["user.a.b.sync", "userId", /"\."/],
      ["party.a\u0000", "partyId", /control character \(U\+0000\)/],
      [`user.${"x".repeat(65)}.sync`, "userId", /65 characters/],
      ["user.a*.notifications-pnpres", "userId", /"\*"/],
    ];
    for (const [name, path, reason] of cases) {
      const parsed = parseChannel(name);
      expect(parsed.ok, name).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.path, name).toBe(path);
        expect(parsed.error.reason, name).toMatch(reason);
      }
    }
  });
});

describe("presence channels", () => {
  it("parse as presence of their data channel", () => {
    expect(parseChannel("user.alice.devices-pnpres")).toEqual({
      ok: true,
      value: { kind: "presence", channel: { kind: "user.devices", userId: "alice" } },
    });
    expect(parseChannel("party.x-pnpres")).toEqual({
      ok: true,
      value: { kind: "presence", channel: { kind: "party", partyId: "x" } },
    });
    expect(parsePresenceChannel("party.p1-pnpres")).toEqual({
      ok: true,
      value: { kind: "party", partyId: "p1" },
    });
    expect(isPresenceChannel("global.trending-pnpres")).toBe(true);
    expect(isPresenceChannel("global.trending")).toBe(false);
    expect(isPresenceChannel("nope-pnpres")).toBe(false);
  });

  it("parsePresenceChannel rejects data channels and unknown bases", () => {
    expect(parsePresenceChannel("user.alice.devices").ok).toBe(false);
    expect(parsePresenceChannel("user.alice.nope-pnpres").ok).toBe(false);
    fc.assert(
      fc.property(dataChannelInfo, (info) => {
        const name = channelName(info);
        expect(parsePresenceChannel(name).ok).toBe(false);
        expect(parsePresenceChannel(presenceChannel(name))).toEqual({ ok: true, value: info });
      }),
    );
  });
});

describe("validateChannelId", () => {
  it("accepts every generated id", () => {
    fc.assert(
      fc.property(channelId, (id) => {
        expect(validateChannelId(id)).toEqual({ ok: true, value: id });
      }),
    );
  });

  it("rejects ., *, ,, :, /, \\ anywhere, with the character in the reason", () => {
    fc.assert(
      fc.property(channelId, fc.constantFrom(".", "*", ",", ":", "/", "\\"), fc.nat(), (id, bad, at) => {
        const i = at % (id.length + 1);
        const result = validateChannelId(
          (id.slice(0, i) + bad + id.slice(i)).slice(0, MAX_CHANNEL_ID_LENGTH),
        );
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error.reason).toContain(JSON.stringify(bad));
      }),
    );
  });

  it("rejects whitespace and control characters", () => {
    const bad = fc.constantFrom(" ", "\t", "\n", "\r", "\u0000", "\u0007", "\u001f", "\u007f");
    fc.assert(
      fc.property(channelId, bad, fc.nat(), (id, ch, at) => {
        const i = at % id.length;
        const result = validateChannelId(id.slice(0, i) + ch + id.slice(i + 1));
        expect(result.ok).toBe(false);
        if (!result.ok)
          expect(result.error.reason).toMatch(/whitespace or a control character \(U\+00[0-7][0-9A-F]\)/);
      }),
    );
  });

  it("rejects empty, too long, non-ASCII, the presence suffix and non-strings", () => {
    const reasonOf = (id: unknown): string => {
      const result = validateChannelId(id);
      if (result.ok) throw new Error(`accepted ${JSON.stringify(id)}`);
      return result.error.reason;
    };
    expect(reasonOf("")).toBe("must not be empty");
    expect(reasonOf("x".repeat(MAX_CHANNEL_ID_LENGTH + 1))).toBe(
      "is 65 characters long; at most 64 are allowed",
    );
    expect(validateChannelId("x".repeat(MAX_CHANNEL_ID_LENGTH)).ok).toBe(true);
    expect(reasonOf("café")).toMatch(/non-ASCII character U\+00E9 at index 3/);
    expect(reasonOf("\u00a0")).toMatch(/U\+00A0/);
    expect(reasonOf("a\ud800")).toMatch(/U\+D800/);
    expect(reasonOf("room-pnpres")).toMatch(/ends with "-pnpres"/);
    expect(reasonOf(7)).toBe("expected a string, got number");
    expect(reasonOf(null)).toBe("expected a string, got null");
  });
});

describe("user channel group (spec 2.2)", () => {
  it("names the group user-{id}-all and reads it back", () => {
    expect(userChannelGroup("alice")).toBe("user-alice-all");
    fc.assert(
      fc.property(channelId, (id) => {
        expect(parseUserChannelGroup(userChannelGroup(id))).toEqual({ ok: true, value: id });
      }),
    );
    expect(parseUserChannelGroup("user--all").ok).toBe(false);
    expect(parseUserChannelGroup("user-a.b-all")).toMatchObject({ ok: false, error: { path: "userId" } });
    expect(parseUserChannelGroup("group-alice-all").ok).toBe(false);
  });

  it("lists the six channels in the spec's order", () => {
    expect(userGroupChannels("alice", "us-east")).toEqual([
      "user.alice.sync",
      "user.alice.devices",
      "user.alice.notifications",
      "region.us-east.updates",
      "global.trending",
      "global.announcements",
    ]);
    expect(() => userGroupChannels("alice", "us.east")).toThrow(/^region /);
  });
});

describe("retention (spec 9.1)", () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  // Spec 9.1, row by row (12.3 repeats the first six in hours).
  const rows: [string, number, number][] = [
    ["user.alice.sync", 100, 24 * HOUR],
    ["user.alice.devices", 25, 1 * HOUR],
    ["user.alice.notifications", 50, 7 * DAY],
    ["global.trending", 24, 24 * HOUR],
    ["global.announcements", 100, 30 * DAY],
    ["region.us-east.updates", 500, 7 * DAY],
    ["platform.netflix.catalog", 1000, 14 * DAY],
  ];

  it("matches every row of 9.1, by name and by parsed info", () => {
    for (const [name, count, durationMs] of rows) {
      expect(channelRetention(name), name).toEqual({ count, durationMs });
      const parsed = parseChannel(name);
      if (!parsed.ok) throw new Error(name);
      expect(channelRetention(parsed.value), name).toEqual({ count, durationMs });
    }
  });

  it("uses the documented defaults for channels 9.1 does not list", () => {
    expect(channelRetention("platform.netflix.status")).toBe(DEFAULT_CHANNEL_RETENTION);
    expect(channelRetention("party.p1")).toBe(DEFAULT_CHANNEL_RETENTION);
    expect(DEFAULT_CHANNEL_RETENTION).toEqual({ count: 100, durationMs: DAY });
    expect(channelRetention("analytics.viewing")).toEqual({ count: 0, durationMs: 0 });
    expect(channelRetention("user.alice.devices-pnpres")).toEqual({ count: 0, durationMs: 0 });
  });

  it("has a row for every kind and refuses unknown channels", () => {
    expect(Object.keys(CHANNEL_RETENTION).sort()).toEqual([...CHANNEL_KINDS].sort());
    expect(() => channelRetention("global.nope")).toThrow(RangeError);
    expect(() => channelRetention({ kind: "nope" } as unknown as ChannelInfo)).toThrow(RangeError);
  });
});

describe("message types per channel", () => {
  // The table, which the message validators use.
  const expected: Record<ChannelKind, string[]> = {
    "user.sync": [
      "watch_progress_update",
      "watchlist_update",
      "preference_update",
      "state_reconciliation_request",
      "state_reconciliation_response",
    ],
    "user.devices": ["device_join", "device_leave", "device_heartbeat", "remote_command", "presence_event"],
    "user.notifications": ["user_notification"],
    "global.trending": ["trending_update"],
    "global.announcements": ["announcement"],
    "region.updates": ["content_available", "content_leaving", "pricing_update"],
    "platform.catalog": ["catalog_addition", "catalog_removal", "metadata_update"],
    "platform.status": ["stream_status"],
    "analytics.viewing": ["viewing_analytics"],
    party: ["party_chat"],
    presence: ["presence_event"],
  };

  it("exports the table", () => {
    expect(CHANNEL_MESSAGE_TYPES).toEqual(expected);
  });

  it("rejects watchlist_update on global.trending and accepts it on user.x.sync", () => {
    expect(channelAccepts("global.trending", "watchlist_update")).toBe(false);
    expect(channelAccepts("user.x.sync", "watchlist_update")).toBe(true);
    expect(channelAccepts({ kind: "global.trending" }, "trending_update")).toBe(true);
    expect(channelAccepts("user.x.devices-pnpres", "presence_event")).toBe(true);
    expect(channelAccepts("user.x.devices-pnpres", "device_join")).toBe(false);
  });

  it("accepts exactly the listed types on every kind", () => {
    const allTypes = [...new Set(Object.values(expected).flat()), "unknown_type", "", "__proto__"];
    fc.assert(
      fc.property(channelInfo, fc.constantFrom(...allTypes), (info, msgType) => {
        const listed = expected[info.kind].includes(msgType);
        expect(channelAccepts(info, msgType)).toBe(listed);
        expect(channelAccepts(channelName(info), msgType)).toBe(listed);
      }),
    );
  });

  it("accepts nothing on an unknown channel", () => {
    expect(channelAccepts("global.nope", "trending_update")).toBe(false);
    expect(channelAccepts("user.a.b.sync", "watchlist_update")).toBe(false);
  });
});

describe("channel patterns", () => {
  it("follow the documented meaning of *", () => {
    const cases: [string, string, boolean][] = [
      ["global.trending", "global.*", true],
      ["global.announcements", "global.*", true],
      ["global", "global.*", false],
      ["globalx.trending", "global.*", false],
      ["user.alice.sync", "global.*", false],
      ["region.us-east.updates", "region.*", true],
      ["region.us-east.updates", "region.us-east.*", true],
      ["region.us-east.updates", "region.us-west.*", false],
      ["user.alice.sync", "user.*.sync", true],
      ["user.alice.devices", "user.*.sync", false],
      ["user.alice.notifications", "user.*.notifications", true],
      ["user.a.b.sync", "user.*.sync", false],
      ["user.alice.sync", "user.alice.sync", true],
      ["user.alice.sync", "user.Alice.sync", false],
      ["user.alice.sync", "user.alice", false],
      ["user.alice", "user.alice.sync", false],
      ["global.trending-pnpres", "global.*", true],
      ["user.a.devices-pnpres", "user.*.devices", false],
      ["user.a.devices-pnpres", "user.*.devices-pnpres", true],
      ["party.p1", "party.*", true],
      ["party.", "party.*", false],
      ["party..x", "party.*", false],
      ["x.y", "*.y", true],
      ["", "party.*", false],
    ];
    for (const [channel, pattern, expected] of cases) {
      expect(channelMatchesPattern(channel, pattern), `${channel} ~ ${pattern}`).toBe(expected);
    }
  });

  it("reject malformed patterns", () => {
    for (const pattern of ["", "*", "glo*", "a*b", "*a.b", "global.*x", "a..b", ".a", "a.", "global.**"]) {
      expect(validateChannelPattern(pattern).ok, pattern).toBe(false);
      expect(() => channelMatchesPattern("global.trending", pattern), pattern).toThrow(RangeError);
      expect(() => channelPatternToRegExpSource(pattern), pattern).toThrow(RangeError);
    }
    expect(validateChannelPattern(42).ok).toBe(false);
    expect(validateChannelPattern("user.*.sync")).toEqual({ ok: true, value: "user.*.sync" });
  });

  it("a pattern without * matches only the identical name", () => {
    fc.assert(
      fc.property(channelInfo, channelInfo, (a, b) => {
        const name = channelName(a);
        const other = channelName(b);
        expect(channelMatchesPattern(other, name)).toBe(other === name);
      }),
    );
  });

  it("the regular expression for PubNub Access Manager matches exactly what the pattern matches", () => {
    const segment = fc.constantFrom(
      "user",
      "a",
      "b",
      "sync",
      "global",
      "trending",
      "x-pnpres",
      "a+b",
      "(",
      "[",
    );
    const channel = fc.oneof(
      channelInfo.map(channelName),
      fc
        .array(fc.constantFrom("user", "a", "b", "sync", "", "a+b", "("), { minLength: 1, maxLength: 4 })
        .map((s) => s.join(".")),
    );
    const pattern = fc
      .array(fc.oneof(segment, fc.constant("*")), { minLength: 1, maxLength: 4 })
      .map((s) => s.join("."))
      .filter((p) => p !== "*");
    // Patterns derived from a real channel, so that matches are frequent.
    const derived = fc
      .tuple(channelInfo, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(3))
      .map(([info, stars, cut]) => {
        const segments = channelName(info).split(".");
        const kept = segments.slice(0, Math.max(1, segments.length - cut));
        const out = kept.map((s, i) => (stars[i] === true && i > 0 ? "*" : s));
        return out.join(".");
      });
    fc.assert(
      fc.property(channel, fc.oneof(pattern, derived), (c, p) => {
        const re = new RegExp(channelPatternToRegExpSource(p));
        expect(channelMatchesPattern(c, p)).toBe(re.test(c));
      }),
    );
  });
});
