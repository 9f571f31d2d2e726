#!/usr/bin/env node
// Makes sure the browser tests have a Chromium: Debian's `chromium` package at /usr/bin/chromium
// (or the one CHROMIUM_PATH names). playwright-core drives it and never downloads a browser of
// its own, which this machine's closed network would refuse anyway. Installs with apt-get as
// root, or through passwordless sudo; otherwise says what to do and fails.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

if (existsSync(path)) {
  console.log(`chromium: ${path}`);
  process.exit(0);
}
if (process.env.CHROMIUM_PATH !== undefined) {
  console.error(`CHROMIUM_PATH=${path} does not exist`);
  process.exit(1);
}

function canSudo() {
  try {
    execFileSync("sudo", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const asRoot = process.getuid?.() === 0;
if (!asRoot && !canSudo()) {
  console.error(
    "chromium: not installed, and this user can neither apt-get nor sudo. Install Debian's chromium " +
      "(apt-get install chromium) or point CHROMIUM_PATH at a Chromium binary.",
  );
  process.exit(1);
}
const run = (args) => {
  const [command, ...rest] = asRoot ? args : ["sudo", "-n", ...args];
  execFileSync(command, rest, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
};
console.log("chromium: installing Debian's chromium for the browser tests (apt-get)…");
run(["apt-get", "update", "-qq"]);
run(["apt-get", "install", "-y", "-qq", "chromium"]);
if (!existsSync(path)) {
  console.error(`chromium: apt-get finished but ${path} is missing`);
  process.exit(1);
}
console.log(`chromium: ${path}`);
