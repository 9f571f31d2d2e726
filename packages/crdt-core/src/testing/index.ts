/**
 * Test support for mg-sync packages: fast-check arbitraries and law checkers.
 * Needs `fast-check` (an optional peer dependency); never imported by the runtime entry.
 */
export { checkJoinLaws, type JoinLawOptions } from "./join-laws.js";
