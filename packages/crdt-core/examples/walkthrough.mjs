// A short walk through the core: three devices, skewed clocks, the spec's Fight Club example
// (7.2) and a progress conflict (7.1), merged in every order. Run: `pnpm demo` (builds first).
import {
  ClockDriftError,
  HybridLogicalClock,
  hlcDecode,
  hlcToString,
  lwwMapEmpty,
  lwwMapGet,
  lwwMapJoinInto,
  lwwMapSetDelta,
  orSetAddDelta,
  orSetEmpty,
  orSetJoinInto,
  orSetRemoveDelta,
  orSetToJSON,
  orSetValues,
} from "../dist/index.js";

const line = (text = "") => console.log(text);
const T0 = 1_733_500_800_000; // 2024-12-06T16:00:00Z, the spec's example time

line("mg-sync crdt-core walk-through");
line("==============================");
line();
line("1. Hybrid Logical Clocks: one safe integer, wallMs * 1000 + counter (DEVIATIONS 1)");
let tvNow = T0;
let phoneNow = T0 - 250; // the phone's clock is 250 ms behind
const tv = new HybridLogicalClock({ now: () => tvNow });
const phone = new HybridLogicalClock({ now: () => phoneNow });
const a = tv.tick();
const b = tv.tick(); // same millisecond: the counter moves
line(`   tv ticks           ${a} ${JSON.stringify(hlcDecode(a))}`);
line(`   tv ticks again     ${b} ${JSON.stringify(hlcDecode(b))}`);
const c = phone.receive(b);
line(`   phone receives it  ${c} (its own clock reads ${phoneNow}, but causality wins)`);
line(`   as a sortable key  ${hlcToString(c)}`);
try {
  phone.receive((T0 + 3_600_000) * 1000); // a device an hour in the future
} catch (error) {
  if (!(error instanceof ClockDriftError)) throw error;
  line(`   an hour-fast peer  refused: ${error.message}`);
}
line(`   phone clock after  ${phone.peek()} (unchanged by the refused message)`);
tvNow += 10;
phoneNow += 10;

line();
line("2. Watch progress is an LWW map: the larger (timestamp, device) pair wins (spec 7.1)");
const tvProgress = lwwMapSetDelta("tmdb:550", { progress_seconds: 100 }, 1000, "tv-samsung");
const phoneProgress = lwwMapSetDelta("tmdb:550", { progress_seconds: 150 }, 1001, "phone-ios");
for (const [label, order] of [
  ["tv, phone", [tvProgress, phoneProgress]],
  ["phone, tv", [phoneProgress, tvProgress]],
]) {
  const replica = lwwMapEmpty();
  for (const delta of order) lwwMapJoinInto(replica, delta);
  line(`   delivered ${label} -> ${JSON.stringify(lwwMapGet(replica, "tmdb:550"))}`);
}

line();
line("3. The watchlist is an add-wins OR-Set with no tombstones (spec 7.2, DEVIATIONS 4-5)");
const tvSet = orSetEmpty();
const addOnTv = orSetAddDelta(tvSet, "Fight Club", "tv", { title: "Fight Club", year: 1999 });
orSetJoinInto(tvSet, addOnTv);
const phoneSet = orSetEmpty();
orSetJoinInto(phoneSet, addOnTv);
const removeOnPhone = orSetRemoveDelta(phoneSet, "Fight Club");
const webSet = orSetEmpty();
orSetJoinInto(webSet, addOnTv);
const addOnWeb = orSetAddDelta(webSet, "Fight Club", "web", { title: "Fight Club", year: 1999 });
line("   tv adds, phone removes what it saw, web adds again concurrently");
const deltas = { tv: addOnTv, phone: removeOnPhone, web: addOnWeb };
const orders = [
  ["tv", "phone", "web"],
  ["tv", "web", "phone"],
  ["phone", "tv", "web"],
  ["phone", "web", "tv"],
  ["web", "tv", "phone"],
  ["web", "phone", "tv"],
];
for (const order of orders) {
  const replica = orSetEmpty();
  for (const name of [...order, ...order]) orSetJoinInto(replica, deltas[name]); // every delta twice
  line(`   ${order.join(" -> ").padEnd(20)} ${JSON.stringify(orSetValues(replica))}`);
}
const final = orSetEmpty();
for (const name of ["tv", "phone", "web"]) orSetJoinInto(final, deltas[name]);
line(`   state JSON: ${JSON.stringify(orSetToJSON(final))}`);
line("   (the removed tv add left no tombstone: only the live web dot and one counter per device)");
