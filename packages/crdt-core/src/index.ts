export { type Invalid, invalid, ok, type Result } from "./result.js";
export { ValidationError } from "./schema.js";
