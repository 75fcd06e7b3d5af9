/**
 * Garbage on the client port: every kind of bad input closes (or answers)
 * only the connection that sent it, with a logged reason, and the broker
 * keeps serving normal clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Packr } from "msgpackr";
import { encodeBatch } from "../../src/log/record-codec";
import { assertBrokerServes } from "./client-check";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker, waitUntil, withTimeout, type ServerProcess } from "./harness";
import { cpuTicks, frameAround, randomBytes, randomValue, seededRandom, vmRssBytes } from "./garbage";
import { openRawSocket, requestFrame, type RawSocket } from "./raw-socket";

setDefaultTimeout(30_000);
cleanUpAfterThisFile();

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const utf8 = new TextEncoder();

const MiB = 1024 * 1024;
let broker: ServerProcess;
const sockets: RawSocket[] = [];

async function raw(): Promise<RawSocket> {
  const socket = await openRawSocket(broker.port);
  sockets.push(socket);
  return socket;
}

/** Waits for the broker to close `socket`, failing if it does not within 5 s. */
async function closedByBroker(socket: RawSocket): Promise<void> {
  await withTimeout(socket.closed, 5000, "the broker to close the connection");
}

beforeAll(async () => {
  broker = await startStandaloneBroker();
  const created = await runCli(["topics", "create", "--topic", "target", "--partitions", "2", "--broker", broker.address]);
  expect(created.exitCode).toBe(0);
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.end();
  // Every test ends with the same question: is the broker up and does a normal client work?
  await assertBrokerServes(broker);
});

afterAll(() => {
  for (const socket of sockets.splice(0)) socket.end();
});

describe("bad input on the client port", () => {
  test("random bytes (seeded): each connection is dropped or left waiting, nothing else is affected", async () => {
    const random = seededRandom(0x5eed);
    const victims = await Promise.all(Array.from({ length: 40 }, () => raw()));
    victims.forEach((socket, i) => socket.write(randomBytes(random, 1 + Math.floor(random() * (i % 2 === 0 ? 64 : 64 * 1024)))));
    await Promise.all(victims.map((socket) => socket.flushed()));
    // A random first word is a length over the limit ~97% of the time: closed at once.
    await waitUntil(() => victims.filter((s) => s.isClosed).length >= 30, 5000, "most random-byte connections to be closed");
    for (const socket of victims) expect(socket.frames.length).toBe(0);
    await broker.waitForLog(/connection closed .*reason=FRAME_TOO_LARGE: declared frame length \d+ exceeds the maximum/);
  });

  test("random envelopes inside well-formed frames close that connection with a logged reason", async () => {
    const random = seededRandom(42);
    const victims = await Promise.all(Array.from({ length: 30 }, () => raw()));
    victims.forEach((socket, i) => {
      // Half are random bytes where the envelope should be, half are valid MessagePack of the wrong shape.
      const envelope = i % 2 === 0 ? randomBytes(random, 1 + Math.floor(random() * 200)) : packr.pack(randomValue(random));
      socket.write(frameAround(envelope));
    });
    await Promise.all(victims.map(closedByBroker));
    for (const socket of victims) expect(socket.frames.length).toBe(0);
    await broker.waitForLog(/closing connection after a malformed frame .*reason=INVALID_REQUEST: /);
  });

  test("malformed envelopes: each closes only its own connection", async () => {
    const bystander = await raw();
    const cases: Uint8Array[] = [
      frameAround(packr.pack([2, 1, null, {}])), // a response, from a client
      frameAround(packr.pack([3, "records", {}])), // a push, from a client
      frameAround(packr.pack([1, "metadata", -1, {}])), // negative correlation id
      frameAround(packr.pack([1, 7, 1, {}])), // api is not a string
      frameAround(packr.pack([1, "x".repeat(65), 1, {}])), // api name too long
      frameAround(packr.pack({ api: "metadata" })), // not a list
      frameAround(packr.pack([1, "metadata", 1]), 0xffff), // envelope length beyond the frame
      new Uint8Array([0, 0, 0, 2, 0, 0]), // a frame too short to hold an envelope length
      new Uint8Array([0, 0, 0, 0]), // an empty frame
    ];
    const victims = await Promise.all(cases.map(() => raw()));
    victims.forEach((socket, i) => socket.write(cases[i]!));
    await Promise.all(victims.map(closedByBroker));
    for (const socket of victims) expect(socket.frames.length).toBe(0);
    const answer = await bystander.request("metadata", {});
    expect(answer.envelope).toMatchObject({ kind: "response", error: null });
    expect(bystander.isClosed).toBe(false);
    await broker.waitForLog(/malformed frame .*reason=INVALID_REQUEST: expected a request, got a response/);
    await broker.waitForLog(/malformed frame .*reason=INVALID_REQUEST: envelope length 65535 exceeds the frame/);
    await broker.waitForLog(/reason=INVALID_REQUEST: declared frame length 0 is too short/);
  });

  test("a frame declaring 4 GiB is refused before anything is allocated for it", async () => {
    const before = vmRssBytes(broker.proc.pid);
    const socket = await raw();
    const head = new Uint8Array(1024);
    head.set([0xff, 0xff, 0xff, 0xff]);
    socket.write(head);
    await closedByBroker(socket);
    expect(socket.receivedBytes).toBe(0);
    await broker.waitForLog(/reason=FRAME_TOO_LARGE: declared frame length 4294967295 exceeds the maximum 104857600/);
    expect(vmRssBytes(broker.proc.pid) - before).toBeLessThan(32 * MiB);
  });

  test("a frame declaring exactly the maximum waits for its bytes without reserving them", async () => {
    const before = vmRssBytes(broker.proc.pid);
    const declaring = await Promise.all(Array.from({ length: 20 }, () => raw()));
    for (const socket of declaring) {
      const head = new Uint8Array(4096);
      new DataView(head.buffer).setUint32(0, 100 * MiB); // allowed, but 20 x 100 MiB would be 2 GiB
      socket.write(head);
    }
    await Promise.all(declaring.map((s) => s.flushed()));
    await assertBrokerServes(broker); // a round trip: the broker has read those headers by now
    expect(declaring.every((s) => !s.isClosed)).toBe(true);
    expect(vmRssBytes(broker.proc.pid) - before).toBeLessThan(64 * MiB);
  });

  test("an HTTP request is refused and closed, with no answer", async () => {
    const socket = await raw();
    socket.write(utf8.encode("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"));
    await closedByBroker(socket);
    expect(socket.receivedBytes).toBe(0);
    // "GET " read as a big-endian u32 is 1195725856.
    await broker.waitForLog(/reason=FRAME_TOO_LARGE: declared frame length 1195725856/);
  });

  test("a truncated frame followed by a hang-up is logged and forgotten", async () => {
    const batch = encodeBatch([{ value: utf8.encode("never finished") }]);
    const frame = requestFrame("produce", { topic: "target", acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch]);
    const halfFrame = await raw();
    halfFrame.write(frame.subarray(0, Math.floor(frame.length / 2)));
    const halfHeader = await raw();
    halfHeader.write(frame.subarray(0, 2));
    await Promise.all([halfFrame.flushed(), halfHeader.flushed()]);
    await assertBrokerServes(broker); // the broker has read the partial bytes by now
    halfFrame.end();
    halfHeader.end();
    await broker.waitForLog(new RegExp(`reason=peer closed inside a frame \\(${Math.floor(frame.length / 2) - 4} of ${frame.length - 4} bytes\\)`));
    await broker.waitForLog(/reason=peer closed inside a frame \(2 of 4 header bytes\)/);
    const offsets = await runCli(["topics", "describe", "--topic", "target", "--json", "--broker", broker.address]);
    const described = JSON.parse(offsets.stdout) as { partitions: { logEndOffset: number }[] };
    for (const p of described.partitions) expect(p.logEndOffset).toBe(0);
  });

  test("well-formed frames with bad bodies get an error response and the connection stays usable", async () => {
    const socket = await raw();
    const batch = encodeBatch([{ value: utf8.encode("a") }, { value: utf8.encode("b") }]);
    const expectError = async (api: string, body: unknown, attachments: Uint8Array[], code: string, mentions: string) => {
      const answer = await socket.request(api, body, attachments);
      if (answer.envelope.kind !== "response") throw new Error("expected a response");
      expect(answer.envelope.error?.code).toBe(code as never);
      expect(answer.envelope.error?.message).toContain(mentions);
    };
    await expectError("produce", { topic: "target", acks: "all", partitions: "x" }, [batch], "INVALID_REQUEST", "partitions");
    await expectError("produce", { topic: "target", acks: "all", partitions: [{ partition: "0", bytes: batch.length }] }, [batch], "INVALID_REQUEST", "partitions[0].partition");
    await expectError("produce", { topic: "target", acks: "all", partitions: [{ partition: 0, bytes: batch.length + 10 }] }, [batch], "INVALID_REQUEST", "declare");
    await expectError("produce", { topic: "target", acks: "sometimes", partitions: [{ partition: 0, bytes: batch.length }] }, [batch], "INVALID_REQUEST", "acks");
    await expectError("produce", { topic: 17, acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch], "INVALID_REQUEST", "topic");
    await expectError("produce", { topic: "absent", acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch], "TOPIC_NOT_FOUND", "absent");
    await expectError("subscribe", { subscriptionId: 1, topic: "target", partitions: [], credit: "lots" }, [], "INVALID_REQUEST", "credit");
    await expectError("subscribe", { subscriptionId: 1, topic: "target", partitions: [{ partition: 0, start: { type: "sideways" } }], credit: 1024 }, [], "INVALID_REQUEST", "partitions[0].start.type");
    const twice = { partition: 0, start: { type: "earliest" } };
    await expectError("subscribe", { subscriptionId: 1, topic: "target", partitions: [twice, twice], credit: 1024 }, [], "INVALID_REQUEST", "listed twice");
    await expectError("createTopic", { name: "../etc", partitions: 1 }, [], "INVALID_TOPIC", "etc");
    await expectError("createTopic", { name: "ok", partitions: 0 }, [], "INVALID_REQUEST", "partitions");
    await expectError("metadata", 42, [], "INVALID_REQUEST", "metadata request");
    await expectError("credit", null, [], "INVALID_REQUEST", "credit request");
    await expectError("listOffsets", { topic: "target", partitions: [{ partition: 0, spec: "yesterday" }] }, [], "INVALID_REQUEST", "spec");

    // Batch frames that fail their checks are refused per partition with CORRUPT_MESSAGE, and nothing is appended.
    const corrupted = batch.slice();
    corrupted[corrupted.length - 1]! ^= 0xff;
    const truncated = batch.slice(0, batch.length - 3);
    const notABatch = randomBytes(seededRandom(7), 80);
    for (const bad of [corrupted, truncated, notABatch]) {
      const answer = await socket.request("produce", { topic: "target", acks: "all", partitions: [{ partition: 1, bytes: bad.length }] }, [bad]);
      if (answer.envelope.kind !== "response") throw new Error("expected a response");
      expect(answer.envelope.error).toBeNull();
      const [result] = (answer.envelope.body as { partitions: { partition: number; error?: { code: string } }[] }).partitions;
      expect(result).toMatchObject({ partition: 1, error: { code: "CORRUPT_MESSAGE" } });
    }
    // A good batch after a bad one in the same request: the whole partition's part is refused, atomically.
    const mixed = new Uint8Array([...batch, ...corrupted]);
    const mixedAnswer = await socket.request("produce", { topic: "target", acks: "all", partitions: [{ partition: 1, bytes: mixed.length }] }, [mixed]);
    expect((mixedAnswer.envelope as { body: { partitions: unknown[] } }).body.partitions[0]).toMatchObject({ error: { code: "CORRUPT_MESSAGE" } });

    // The same connection still works, and partition 1 is still empty: the good batch gets offset 0.
    const good = await socket.request("produce", { topic: "target", acks: "all", partitions: [{ partition: 1, bytes: batch.length }] }, [batch.slice()]);
    expect(good.envelope).toMatchObject({ kind: "response", error: null, body: { partitions: [{ partition: 1, baseOffsets: [0] }] } });
    expect(socket.isClosed).toBe(false);
  });

  test("an unknown api gets INVALID_REQUEST, including names that exist on every JavaScript object", async () => {
    const socket = await raw();
    for (const api of ["fetchAll", "__proto__", "constructor", "toString", "hasOwnProperty", ""]) {
      const answer = await socket.request(api, {});
      if (answer.envelope.kind !== "response") throw new Error("expected a response");
      expect(answer.envelope.error).toMatchObject({ code: "INVALID_REQUEST", message: `unknown api ${JSON.stringify(api)}` });
    }
    const answer = await socket.request("metadata", {});
    expect(answer.envelope).toMatchObject({ kind: "response", error: null, body: { role: "active" } });
  });

  test("a client that sends requests but never reads the answers cannot pile them up in the broker", async () => {
    const probe = await raw();
    const request = requestFrame("metadata", {}, [], 77);
    await probe.request("metadata", {}, [], 77);
    const answerBytes = probe.receivedBytes;
    // 500,000 requests (12 MB) whose answers would take ~400 MB if the broker queued them all.
    const count = 500_000;
    const flood = await openRawSocket(broker.port, { decode: false });
    sockets.push(flood);
    flood.pause();
    const before = vmRssBytes(broker.proc.pid);
    const chunk = new Uint8Array(request.length * 10_000);
    for (let i = 0; i < 10_000; i++) chunk.set(request, i * request.length);
    for (let i = 0; i < count / 10_000; i++) flood.write(chunk);
    // Wait until the broker took everything (and holds every answer), or went idle with requests left unread.
    let last = "";
    let unchanged = 0;
    await waitUntil(() => {
      const now = `${flood.pendingBytes} ${cpuTicks(broker.proc.pid)}`;
      unchanged = now === last ? unchanged + 1 : 0;
      last = now;
      return flood.pendingBytes === 0 || unchanged >= 20;
    }, 30_000, "the flood to be taken or held back");
    const growth = vmRssBytes(broker.proc.pid) - before;
    console.log(`broker RSS growth while a client ignores its answers: ${(growth / MiB).toFixed(1)} MiB (${(flood.pendingBytes / MiB).toFixed(1)} MiB of requests held back)`);
    expect(flood.pendingBytes).toBeGreaterThan(0);
    expect(growth).toBeLessThan(100 * MiB);
    // Nothing was dropped: once the client reads, every request is answered.
    flood.resume();
    await waitUntil(() => flood.receivedBytes === count * answerBytes, 30_000, "every answer");
    expect(flood.isClosed).toBe(false);
  });

  test("1,000 idle connections held open at once do not stop a normal client", async () => {
    const before = vmRssBytes(broker.proc.pid);
    const idle: RawSocket[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const opened = await Promise.all(Array.from({ length: 100 }, () => openRawSocket(broker.port, { decode: false })));
      idle.push(...opened);
    }
    sockets.push(...idle);
    // A few of them have said half a word and then gone quiet.
    for (const socket of idle.slice(0, 100)) socket.write(new Uint8Array([0, 0]));
    await assertBrokerServes(broker);
    const produced = await runCli(["produce", "--topic", "target", "--partition", "0", "--broker", broker.address], { stdin: "while-1000-are-idle\n" });
    expect(produced.exitCode).toBe(0);
    const consumed = await runCli(["consume", "--topic", "target", "--partition", "0", "--from-beginning", "--max-messages", "1", "--timeout-ms", "5000", "--broker", broker.address]);
    expect(consumed.stdout).toBe("while-1000-are-idle\n");
    expect(idle.filter((s) => s.isClosed).length).toBe(0);
    const growth = vmRssBytes(broker.proc.pid) - before;
    console.log(`broker RSS growth with 1,000 idle connections: ${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64 * MiB);
  });
});
