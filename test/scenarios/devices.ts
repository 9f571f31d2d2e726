/**
 * The household of the spec's scenarios (spec 5.1, 5.2, 6.3): one user, a phone, a smart TV and
 * a web browser, each with the capabilities spec 3.3 gives its kind. The TV can be remote
 * controlled but cannot cast; the phone casts but is not remote controllable (so 6.3's
 * "not supported" has a natural target); the web client can be controlled and can cast.
 */
import type { DeviceCapabilities, DevicePlatform, DeviceType } from "@mg-sync/crdt-core";

export const USER = "alice";
export const SYNC_CHANNEL = `user.${USER}.sync`;
export const DEVICES_CHANNEL = `user.${USER}.devices`;

export const DEVICE_NAMES = ["phone", "tv", "web"] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];

export interface DeviceProfile {
  /** The device id: the transport's client id and the `device_id` of what it publishes. */
  readonly deviceId: string;
  readonly deviceType: DeviceType;
  readonly platform: DevicePlatform;
  readonly capabilities: DeviceCapabilities;
}

export const PROFILES: Readonly<Record<DeviceName, DeviceProfile>> = {
  phone: {
    deviceId: "phone-ios-alice",
    deviceType: "Phone",
    platform: "iOS",
    capabilities: {
      max_resolution: "FHD",
      audio_codecs: ["AAC"],
      hdr_support: ["HDR10"],
      remote_controllable: false,
      can_cast: true,
      screen_size: 6.1,
    },
  },
  tv: {
    deviceId: "tv-samsung-living-room",
    deviceType: "TV",
    platform: "Tizen",
    capabilities: {
      max_resolution: "UHD_4K",
      audio_codecs: ["AAC", "Dolby_Atmos"],
      hdr_support: ["HDR10", "Dolby_Vision"],
      remote_controllable: true,
      can_cast: false,
      screen_size: 65,
    },
  },
  web: {
    deviceId: "web-chrome-mac",
    deviceType: "Web",
    platform: "Web",
    capabilities: {
      max_resolution: "FHD",
      audio_codecs: ["AAC"],
      hdr_support: [],
      remote_controllable: true,
      can_cast: true,
      screen_size: null,
    },
  },
};

/** Fight Club, the spec's running example (5.1, 7.2). */
export const FIGHT_CLUB = "tmdb:550";
export const FIGHT_CLUB_SNIPPET = { title: "Fight Club", year: 1999, content_type: "Movie" } as const;
/** 2 h 19 min, as in spec 8.3's device list. */
export const FIGHT_CLUB_DURATION_SEC = 8340;
