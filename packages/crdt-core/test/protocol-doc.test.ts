/**
 * docs/protocol.md is a contract: every ```json block in it is a message that `parseMessage`
 * accepts unchanged (so a misspelt optional field, which the codec would silently drop, fails
 * here), blocks fenced ```json not-a-message are at least valid JSON, and every message type
 * has its own section and an example.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { decodeMessage, MESSAGE_TYPES, parseMessage } from "../src/messages/index.js";

const DOC_URL = new URL("../../../docs/protocol.md", import.meta.url);
const doc = readFileSync(DOC_URL, "utf8");

interface Block {
  readonly info: string;
  readonly body: string;
  readonly line: number;
}

function jsonBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```json([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let match = fence.exec(markdown); match !== null; match = fence.exec(markdown)) {
    blocks.push({
      info: match[1]!.trim(),
      body: match[2]!,
      line: markdown.slice(0, match.index).split("\n").length,
    });
  }
  return blocks;
}

const blocks = jsonBlocks(doc);
const messages = blocks.filter((b) => b.info === "");
const others = blocks.filter((b) => b.info !== "");

describe("docs/protocol.md", () => {
  test("has message examples, and marks every other JSON block as not-a-message", () => {
    expect(messages.length).toBeGreaterThanOrEqual(MESSAGE_TYPES.length);
    for (const block of others) expect(block.info, `line ${block.line}`).toBe("not-a-message");
  });

  for (const block of messages) {
    test(`the example at line ${block.line} is a valid message, unchanged by parsing`, () => {
      const value = JSON.parse(block.body) as unknown;
      const parsed = parseMessage(value);
      expect(parsed, `line ${block.line}`).toEqual({ ok: true, value });
      expect(decodeMessage(block.body)).toEqual(parsed);
    });
  }

  for (const block of others) {
    test(`the not-a-message block at line ${block.line} is valid JSON`, () => {
      expect(() => JSON.parse(block.body)).not.toThrow();
    });
  }

  test("every message type has a section and at least one example", () => {
    const exampleTypes = new Set(messages.map((b) => (JSON.parse(b.body) as { msg_type: string }).msg_type));
    for (const type of MESSAGE_TYPES) {
      expect(exampleTypes.has(type), `example of ${type}`).toBe(true);
      expect(doc, `section for ${type}`).toMatch(new RegExp(`^### [0-9.]+ \`${type}\`$`, "m"));
    }
  });
});
