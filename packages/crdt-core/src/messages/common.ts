/**
 * Field rules shared by every message family (DEVIATIONS 11: every message is validated on
 * receipt — types, ranges, string lengths). Limits are generous for real use and tight enough
 * that one message can never blow a device's memory.
 */
import { type Check, integer, oneOf, string } from "../schema.js";

/** Encoded messages larger than this are rejected (PubNub's publish limit, spec 9 / DEVIATIONS 9). */
export const MAX_MESSAGE_BYTES = 32 * 1024;

/** Longest id (content, device, user, party, notification …) we accept. */
export const MAX_ID_LENGTH = 128;
/** Longest short human-readable string (titles, names, versions, reasons). */
export const MAX_LABEL_LENGTH = 256;
/** Longest free text (notification bodies, chat text, URLs). */
export const MAX_TEXT_LENGTH = 4096;

/**
 * An HLC timestamp: a non-negative safe integer `wallMs * 1000 + counter` (DEVIATIONS 1).
 * Every such integer is a valid timestamp, so this is exactly `isHlc`.
 */
export const hlcTimestamp: Check<number> = integer({ min: 0 });

/** Non-empty ids with no whitespace or control characters. */
export const id: Check<string> = string({
  min: 1,
  max: MAX_ID_LENGTH,
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  pattern: /^[^\s\u0000-\u001f\u007f]+$/,
  patternName: "an id without whitespace or control characters",
});

export const label: Check<string> = string({ max: MAX_LABEL_LENGTH });
export const nonEmptyLabel: Check<string> = string({ min: 1, max: MAX_LABEL_LENGTH });
export const text: Check<string> = string({ max: MAX_TEXT_LENGTH });

/** Whole seconds of media time (spec u32). */
export const seconds: Check<number> = integer({ min: 0, max: 0xffff_ffff });

export const DEVICE_TYPES = ["TV", "Phone", "Web", "Tablet"] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];
export const deviceType = oneOf(DEVICE_TYPES);

export const DEVICE_PLATFORMS = ["Tizen", "webOS", "iOS", "Android", "Web"] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORMS)[number];
export const devicePlatform = oneOf(DEVICE_PLATFORMS);

export const PLAYBACK_STATES = ["Playing", "Paused", "Stopped"] as const;
export type PlaybackState = (typeof PLAYBACK_STATES)[number];
export const playbackState = oneOf(PLAYBACK_STATES);
