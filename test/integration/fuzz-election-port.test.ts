/**
 * Fuzzing the brokers' election ports (broker-to-broker TCP, u32 length |
 * MessagePack message) in a running cluster: seeded noise and mutations of
 * ELECTION, ANSWER and COORDINATOR messages sent to both brokers. Both stay
 * up with bounded memory, and afterwards the cluster still works: an active
 * broker serves a producer and a consumer, and when it is killed the other
 * takes over and serves them too.
 *
 * Messages are not authenticated yet (cluster authentication is a later
 * part of this issue), so a mutation that happens to be a well-formed
 * message with a newer term or epoch is obeyed like a real one; the checks
 * here are that nothing crashes, leaks or wedges the election for good.
 *
 * FUZZ_CASES / FUZZ_SEED choose the cases (`make fuzz` runs many more).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Packr } from "msgpackr";
import { Producer } from "../../src/client/producer";
import { encodeElectionMessage, MAX_ELECTION_MESSAGE_SIZE } from "../../src/election/election-codec";
import type { ElectionMessage } from "../../src/election/election-types";
import { Admin } from "../../src/client/admin";
import { readTopic, TestCluster } from "./cluster-harness";
import { vmRssBytes } from "./garbage";
import { cleanUpAfterThisFile } from "./harness";
import { fuzzPlan, RssSampler, runFuzz, unexpectedErrorLines } from "./fuzz/fuzz-run";
import type { MutationOptions } from "./fuzz/mutations";
import { sendTcpBatch, type TcpFuzzTarget } from "./fuzz/tcp-fuzz";
import { openRawSocket } from "./raw-socket";

setDefaultTimeout(10 * 60_000);
cleanUpAfterThisFile();

const MiB = 1024 * 1024;
const rawPackr = new Packr({ useRecords: false });
const RSS_GROWTH_LIMIT = 128 * MiB;

function lengthPrefixed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

const messages: ElectionMessage[] = [
  { type: "ELECTION", term: 1, from: 1 },
  { type: "ELECTION", term: 2, from: 3 },
  { type: "ANSWER", term: 1, from: 2 },
  { type: "COORDINATOR", term: 1, from: 2, epoch: 1 },
  { type: "COORDINATOR", term: 0, from: 1, epoch: 0 },
];

const mutation: MutationOptions = {
  maxFrameBytes: MAX_ELECTION_MESSAGE_SIZE + 64,
  u32LengthFields: [0],
  body: (input) => ({ start: 4, end: input.length }),
  reframe: (body) => lengthPrefixed(body),
};

let cluster: TestCluster;
const rss = new Map<number, RssSampler>();

beforeAll(async () => {
  cluster = await TestCluster.start({ brokerIds: [1, 2], sessionTimeoutMs: 1000 });
  await cluster.waitForActive(2);
  for (const [id, broker] of cluster.brokers) rss.set(id, new RssSampler(() => vmRssBytes(broker.proc.pid)));
});

afterAll(() => {
  for (const [id, sampler] of rss) console.log(`election port fuzz, broker ${id}: ${sampler.describe()}`);
});

async function produceAndReadBack(topic: string, values: string[]): Promise<void> {
  const producer = new Producer(cluster.clientOptions({ requestTimeoutMs: 10_000 }));
  try {
    for (const value of values) await producer.send(topic, { value: new TextEncoder().encode(value), partition: 0 });
  } finally {
    await producer.close();
  }
  const read = await readTopic(cluster.clientOptions(), topic);
  expect(read.get(0)!.map((r) => r.value).slice(-values.length)).toEqual(values);
}

describe("fuzzing the election port", () => {
  test("seeded noise and mutated election messages to both brokers; the cluster still elects, serves and fails over", async () => {
    const corpus = messages.map((m) => lengthPrefixed(encodeElectionMessage(m)));
    const targets: TcpFuzzTarget[] = [1, 2].map((id) => ({ port: () => cluster.broker(id).electionPort, corpus, mutation }));
    let round = 0;
    const unexpected = new Map([...cluster.brokers].map(([id, broker]) => [id, unexpectedErrorLines(() => broker.stderr())]));
    await runFuzz(
      fuzzPlan(1000),
      "election-port",
      (cases) => {
        const target = targets[round++ % targets.length]!;
        // The transport answers nothing: an election port is settled by both brokers still being up.
        return sendTcpBatch(cases, target, async () => {});
      },
      async () => {
        for (const [id, broker] of cluster.brokers) {
          expect(broker.proc.exitCode, `broker ${id} exited`).toBeNull();
          expect(unexpected.get(id)!(), `broker ${id}`).toEqual([]);
          const sampler = rss.get(id)!;
          sampler.sample();
          expect(sampler.peak - sampler.baseline).toBeLessThan(RSS_GROWTH_LIMIT);
        }
      },
    );

    // A normal cluster operation: whoever is active serves; kill it and the other takes over.
    const first = await cluster.waitForActive(undefined, 15_000);
    const admin = new Admin(cluster.clientOptions());
    await admin.createTopic("after-fuzz", 1);
    admin.close();
    await produceAndReadBack("after-fuzz", ["before failover"]);
    await cluster.kill(first.id);
    const other = first.id === 2 ? 1 : 2;
    const second = await cluster.waitForActive(other, 15_000);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    await produceAndReadBack("after-fuzz", ["after failover"]);
  });
});

describe("election messages at the edge of the integers", () => {
  test("a term or epoch of 2^53 - 1 is refused, so no counter can be pushed past the safe integers; the cluster still fails over", async () => {
    const edgeCluster = await TestCluster.start({ brokerIds: [1, 2], sessionTimeoutMs: 1000 });
    await edgeCluster.waitForActive(2);
    const edge = Number.MAX_SAFE_INTEGER;
    // From a broker that is not the receiver (a message from oneself is ignored).
    const forged = (from: number) => [
      { v: 1, type: "ELECTION", term: edge, from },
      { v: 1, type: "COORDINATOR", term: edge, from, epoch: edge },
      { v: 1, type: "COORDINATOR", term: 1, from, epoch: edge },
    ];
    for (const id of [1, 2]) {
      const socket = await openRawSocket(edgeCluster.broker(id).electionPort, { decode: false });
      for (const message of forged(id === 1 ? 3 : 1)) socket.write(lengthPrefixed(rawPackr.pack(message)));
      await socket.flushed();
      socket.end();
      await edgeCluster.broker(id).waitForLog(/malformed message .*term must be an integer, at least 0 and at most/);
    }
    await edgeCluster.kill(2);
    const next = await edgeCluster.waitForActive(1, 15_000);
    expect(next.epoch).toBeLessThan(1000);
    const admin = new Admin(edgeCluster.clientOptions());
    await admin.createTopic("edge", 1);
    admin.close();
    const producer = new Producer(edgeCluster.clientOptions({ requestTimeoutMs: 10_000 }));
    const { offset } = await producer.send("edge", { value: new TextEncoder().encode("served"), partition: 0 });
    await producer.close();
    expect(offset).toBe(0);
  });
});
