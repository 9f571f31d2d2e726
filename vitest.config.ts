import { defineConfig } from "vitest/config";
import "./test/setup/node20.js";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["./test/setup/node20.ts", "./test/setup/fast-check.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The JSON report feeds `.ci/run`'s closing `N passed, N failed` line.
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
  },
});
