/**
 * The JSON examples of the specification, verbatim (section → text). Every one must stay valid
 * input (DEVIATIONS 11; the brief: a client written from the spec alone interoperates).
 */
export const SPEC_EXAMPLES: Readonly<Record<string, string>> = {
  "3.1 watch_progress_update": `{
  "msg_type": "watch_progress_update",
  "content_id": "tmdb:550",
  "progress_seconds": 3245,
  "duration_seconds": 8217,
  "completion_percent": 0.395,
  "timestamp": 1733500800000000,
  "device_id": "tv-samsung-living-room",
  "device_type": "TV",
  "state": "Paused"
}`,
  "3.2 watchlist_update": `{
  "msg_type": "watchlist_update",
  "operation": "Add",
  "content_id": "tmdb:550",
  "timestamp": 1733500800000000,
  "device_id": "phone-ios-alice",
  "unique_tag": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
  "content_metadata": {
    "title": "Fight Club",
    "year": 1999,
    "poster_url": "https://image.tmdb.org/t/p/w500/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
    "content_type": "Movie"
  }
}`,
  "3.3 device_heartbeat": `{
  "msg_type": "device_heartbeat",
  "device_id": "tv-samsung-living-room",
  "device_type": "TV",
  "capabilities": {
    "max_resolution": "UHD_4K",
    "audio_codecs": ["AAC", "Dolby_Atmos"],
    "hdr_support": ["HDR10", "Dolby_Vision"],
    "remote_controllable": true,
    "can_cast": false,
    "screen_size": 65.0
  },
  "app_version": "1.2.3",
  "platform": "Tizen",
  "last_active": 1733500800000000,
  "battery_level": null,
  "network_quality": 5
}`,
  "3.4 remote_command": `{
  "msg_type": "remote_command",
  "target_device_id": "tv-samsung-living-room",
  "source_device_id": "phone-ios-alice",
  "command": {
    "type": "LoadContent",
    "params": {
      "content_id": "tmdb:550",
      "start_position": 3245
    }
  },
  "timestamp": 1733500800000000,
  "expires_at": 1733500805000000
}`,
  "6.1 device_join": `{
  "msg_type": "device_join",
  "device_id": "tv-samsung-living-room",
  "device_type": "TV",
  "platform": "Tizen",
  "app_version": "1.2.3",
  "capabilities": {
    "max_resolution": "UHD_4K",
    "audio_codecs": ["AAC", "Dolby_Atmos"],
    "hdr_support": ["HDR10", "Dolby_Vision"],
    "remote_controllable": true,
    "can_cast": false,
    "screen_size": 65.0
  },
  "timestamp": 1733500800000000,
  "initial_sync_required": true
}`,
};
