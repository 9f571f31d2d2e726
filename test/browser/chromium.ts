/**
 * Debian's Chromium, headless, driven by playwright-core (which never downloads a browser of its
 * own). `scripts/ensure-chromium.mjs` installs it; `pnpm check` runs that first. The flags are
 * the ones this machine needs: no sandbox as root, and no background traffic to hosts a closed
 * network refuses.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: run \`node scripts/ensure-chromium.mjs\` (Debian's chromium) or set CHROMIUM_PATH`,
    );
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
