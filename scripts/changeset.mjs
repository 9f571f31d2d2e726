#!/usr/bin/env node
// @changesets/cli 3's bin calls module.enableCompileCache(), which Node 20 lacks
// (added in 22.1). Its real entry point runs fine on Node 20, so we start it directly.
await import("@changesets/cli");
