import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { MAX_ELECTION_MESSAGE_SIZE, decodeElectionMessage, encodeElectionMessage } from "../../../src/election/election-codec";
import type { ElectionMessage } from "../../../src/election/election-types";
import { KafkaCloneError } from "../../../src/errors";
import { mulberry32 } from "./simulator";

const packr = new Packr({ useRecords: false });
const messages: ElectionMessage[] = [
  { type: "ELECTION", term: 1, from: 2 },
  { type: "ANSWER", term: 2 ** 50, from: 9 },
  { type: "COORDINATOR", term: 0, from: 1, epoch: 77 },
];

function decodeOrInvalid(bytes: Uint8Array): ElectionMessage | "invalid" {
  try {
    return decodeElectionMessage(bytes);
  } catch (error) {
    if (!(error instanceof KafkaCloneError) || error.code !== "INVALID_REQUEST") throw error;
    return "invalid";
  }
}

describe("election codec", () => {
  test("round-trips every message type", () => {
    for (const m of messages) expect(decodeElectionMessage(encodeElectionMessage(m))).toEqual(m);
  });

  test("only known fields go on the wire; bad values are refused at the sender", () => {
    const extra = { type: "ANSWER", term: 1, from: 2, epoch: 5, junk: "x" } as ElectionMessage;
    expect(decodeElectionMessage(encodeElectionMessage(extra))).toEqual({ type: "ANSWER", term: 1, from: 2 });
    expect(() => encodeElectionMessage({ type: "ELECTION", term: -1, from: 2 })).toThrow(KafkaCloneError);
    // Terms and epochs stop well below 2^53, so a peer cannot push a counter past exact +1 arithmetic.
    expect(() => encodeElectionMessage({ type: "ELECTION", term: 2 ** 50 + 1, from: 2 })).toThrow(KafkaCloneError);
    expect(decodeOrInvalid(packr.pack({ v: 1, type: "COORDINATOR", term: 1, from: 2, epoch: 2 ** 53 - 1 }))).toBe("invalid");
  });

  test("every field is validated", () => {
    const bad: unknown[] = [
      { v: 1, type: "ELECTION", term: 1 },
      { v: 1, type: "ELECTION", term: 1, from: 0 },
      { v: 1, type: "ELECTION", term: 1.5, from: 1 },
      { v: 1, type: "ELECTION", term: "1", from: 1 },
      { v: 1, type: "ELECTION", term: 2 ** 60, from: 1 },
      { v: 1, type: "COORDINATOR", term: 1, from: 1 },
      { v: 1, type: "COORDINATOR", term: 1, from: 1, epoch: -1 },
      { v: 1, type: "VICTORY", term: 1, from: 1 },
      { v: 2, type: "ELECTION", term: 1, from: 1 },
      { type: "ELECTION", term: 1, from: 1 },
      [1, "ELECTION", 1, 1],
      null,
      "ELECTION",
    ];
    for (const value of bad) expect(decodeOrInvalid(packr.pack(value))).toBe("invalid");
    expect(decodeOrInvalid(new Uint8Array(MAX_ELECTION_MESSAGE_SIZE + 1))).toBe("invalid");
    expect(decodeOrInvalid(new Uint8Array(0))).toBe("invalid");
  });

  test("fuzz: random and mutated bytes only ever raise INVALID_REQUEST", () => {
    const rand = mulberry32(42);
    const seeds = messages.map((m) => encodeElectionMessage(m));
    let decoded = 0;
    for (let i = 0; i < 4000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      } else {
        bytes = seeds[i % seeds.length]!.slice();
        for (let f = 0; f < 1 + Math.floor(rand() * 3); f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        if (rand() < 0.2) bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
      }
      const out = decodeOrInvalid(bytes);
      if (out !== "invalid") {
        decoded++;
        expect(decodeElectionMessage(encodeElectionMessage(out))).toEqual(out);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
