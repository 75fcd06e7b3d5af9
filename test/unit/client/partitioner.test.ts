import { describe, expect, test } from "bun:test";
import { KafkaCloneError } from "../../../src/errors";
import { murmur2, partitionForKey, StickyPartitioner } from "../../../src/client/partitioner";

const utf8 = new TextEncoder();

describe("murmur2", () => {
  test("matches Kafka's test vectors (UtilsTest.testMurmur2), before masking", () => {
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, expected] of vectors) expect(murmur2(utf8.encode(key))).toBe(expected);
  });

  test("a key's partition is toPositive(murmur2) % partitions, as Kafka computes it", () => {
    // "21" hashes to -973932308; & 0x7fffffff = 1173551340.
    expect(partitionForKey(utf8.encode("21"), 1000)).toBe(1173551340 % 1000);
    expect(partitionForKey(utf8.encode("abc"), 7)).toBe(479470107 % 7);
    for (let i = 0; i < 200; i++) {
      const p = partitionForKey(utf8.encode(`key-${i}`), 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
    }
  });
});

describe("StickyPartitioner", () => {
  test("an explicit partition wins, and must exist", () => {
    const partitioner = new StickyPartitioner();
    expect(partitioner.choose("t", 4, utf8.encode("k"), 3)).toBe(3);
    for (const bad of [4, -1, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        partitioner.choose("t", 4, null, bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(KafkaCloneError);
      expect((error as KafkaCloneError).code).toBe("INVALID_PARTITION");
    }
  });

  test("keyed records always go where the key hashes, regardless of stickiness", () => {
    const partitioner = new StickyPartitioner();
    for (let i = 0; i < 100; i++) {
      const key = utf8.encode(`user-${i % 10}`);
      expect(partitioner.choose("t", 5, key, undefined)).toBe(partitionForKey(key, 5));
      partitioner.batchSealed("t", i % 5, 5);
    }
    // An empty key is a key (hashed), not "no key".
    expect(partitioner.choose("t", 5, new Uint8Array(0), undefined)).toBe(partitionForKey(new Uint8Array(0), 5));
  });

  test("keyless records stick to one partition until its batch is sealed, then move to the next", () => {
    const partitioner = new StickyPartitioner();
    const first = partitioner.choose("t", 3, null, undefined);
    for (let i = 0; i < 10; i++) expect(partitioner.choose("t", 3, undefined, undefined)).toBe(first);
    partitioner.batchSealed("t", (first + 1) % 3, 3); // another partition's batch: no move
    expect(partitioner.choose("t", 3, null, undefined)).toBe(first);
    partitioner.batchSealed("t", first, 3);
    const second = partitioner.choose("t", 3, null, undefined);
    expect(second).toBe((first + 1) % 3);
    // Round the ring: every partition gets its turn.
    const seen = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const p = partitioner.choose("t", 3, null, undefined);
      seen.add(p);
      partitioner.batchSealed("t", p, 3);
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  test("stickiness is per topic, and a shrunken partition count picks again", () => {
    const partitioner = new StickyPartitioner();
    const a = partitioner.choose("a", 8, null, undefined);
    const b = partitioner.choose("b", 8, null, undefined);
    partitioner.batchSealed("a", a, 8);
    expect(partitioner.choose("b", 8, null, undefined)).toBe(b);
    expect(partitioner.choose("a", 8, null, undefined)).toBe((a + 1) % 8);
    for (let i = 0; i < 50; i++) expect(partitioner.choose("b", 1, null, undefined)).toBe(0);
  });
});
