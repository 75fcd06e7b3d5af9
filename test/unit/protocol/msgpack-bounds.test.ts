import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { KafkaCloneError } from "../../../src/errors";
import { assertMsgpackBounds } from "../../../src/protocol/msgpack-bounds";
import { mulberry32 } from "../../seeded-random";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });


function value(random: () => number, depth: number): unknown {
  switch (Math.floor(random() * (depth > 3 ? 8 : 11))) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1);
    case 3: return Math.floor(random() * 300) - 150;
    case 4: return random() * 1e9;
    case 5: return "é".repeat(Math.floor(random() * 70_000 * (random() < 0.1 ? 1 : 0.001)));
    case 6: return new Uint8Array(Math.floor(random() * (random() < 0.1 ? 70_000 : 40)));
    case 7: return undefined;
    case 8: return Array.from({ length: Math.floor(random() * (random() < 0.1 ? 20 : 4)) }, () => value(random, depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`k${i}`, value(random, depth + 1)]));
    default: return new Date(Math.floor(random() * 2 ** 40));
  }
}

function rejects(bytes: Uint8Array | number[], reason: RegExp): void {
  const input = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let error: unknown;
  try {
    assertMsgpackBounds(input, "test value");
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(KafkaCloneError);
  expect((error as KafkaCloneError).code).toBe("INVALID_REQUEST");
  expect((error as KafkaCloneError).message).toMatch(reason);
}

describe("assertMsgpackBounds", () => {
  test("accepts every value msgpackr packs (seeded)", () => {
    const random = mulberry32(99);
    for (let i = 0; i < 3000; i++) {
      const packed = packr.pack(value(random, 0));
      assertMsgpackBounds(packed, "value");
    }
  });

  test("refuses containers declaring more elements than there are bytes, before the decoder allocates them", () => {
    rejects([0xdd, 0x01, 0xad, 0x64, 0x65, 0x01], /28140645 elements declared, leaving 28140645 values for 1 bytes/);
    rejects([0xdf, 0xff, 0xff, 0xff, 0xff], /elements declared/);
    rejects([0xdc, 0x00, 0x03, 0x01, 0x02], /3 elements declared, leaving 3 values for 2 bytes/);
    rejects([0x93, 0x01], /elements declared/);
    rejects([0x92, 0x91, 0x90], /elements declared/);
  });

  test("refuses strings, binaries and extensions running past the end", () => {
    rejects([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61], /length of 2147483647 runs past the end/);
    rejects([0xc6, 0xff, 0xff, 0xff, 0xff], /runs past the end/);
    rejects([0xa5, 0x61], /runs past the end/);
    rejects([0xc9, 0x00, 0x00, 0x10, 0x00, 0x01], /runs past the end/);
    rejects([0xd8, 0x01], /runs past the end/);
    rejects([0xcb, 0x00], /runs past the end/);
  });

  test("refuses the unused byte, trailing bytes, empty input and deep nesting", () => {
    rejects([0xc1], /0xc1 is never used/);
    rejects([0x01, 0x02], /1 bytes after the value/);
    rejects([], /unexpected end/);
    rejects(new Uint8Array(40).fill(0x91), /nesting deeper than 32/);
    assertMsgpackBounds(packr.pack(JSON.parse("[".repeat(32) + "]".repeat(32))), "32 levels");
  });

  test("random bytes either pass or fail with INVALID_REQUEST, never anything else", () => {
    const random = mulberry32(7);
    for (let i = 0; i < 20_000; i++) {
      const bytes = new Uint8Array(1 + Math.floor(random() * 24)).map(() => Math.floor(random() * 256));
      try {
        assertMsgpackBounds(bytes, "noise");
      } catch (error) {
        expect((error as KafkaCloneError).code).toBe("INVALID_REQUEST");
      }
    }
  });
});
