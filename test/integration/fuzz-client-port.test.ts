/**
 * Fuzzing the broker's client port with seeded noise and mutations of a
 * valid request for every api (see fuzz/mutations.ts). After every batch the
 * broker must be up, answer a normal client, and keep its memory bounded;
 * at the end a producer and a consumer still work, and no request failed
 * with an unexpected (UNKNOWN) error: every bad input is refused by
 * validation, not by a crash inside a handler.
 *
 * FUZZ_CASES / FUZZ_SEED choose the cases (`make fuzz` runs many more).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { RpcConnection } from "../../src/net/rpc-connection";
import { API } from "../../src/protocol/api";
import { assertBrokerServes } from "./client-check";
import { vmRssBytes } from "./garbage";
import { cleanUpAfterThisFile, runCli, startStandaloneBroker, type ServerProcess } from "./harness";
import { clientCorpus, requestFrameMutations } from "./fuzz/frame-corpus";
import { fuzzPlan, RssSampler, runFuzz, unexpectedErrorLines } from "./fuzz/fuzz-run";
import { sendTcpBatch, type TcpFuzzTarget } from "./fuzz/tcp-fuzz";

setDefaultTimeout(10 * 60_000);
cleanUpAfterThisFile();

const MiB = 1024 * 1024;
const MAX_FRAME_BYTES = 1 * MiB;
/** Growth of the broker's RSS allowed over the whole run (it holds no state per dropped connection). */
const RSS_GROWTH_LIMIT = 128 * MiB;

let broker: ServerProcess;
let client: RpcConnection;

beforeAll(async () => {
  broker = await startStandaloneBroker(["--max-frame-bytes", String(MAX_FRAME_BYTES)]);
  const created = await runCli(["topics", "create", "--topic", "fuzz", "--partitions", "2", "--broker", broker.address]);
  expect(created.exitCode).toBe(0);
  client = await RpcConnection.connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 10_000 });
});

afterAll(() => {
  client?.close();
  // KC_DUMP_LOGS=1: the broker's log, less the expected lines about closed connections.
  if (process.env.KC_DUMP_LOGS) console.log(broker.stderr().split("\n").filter((l) => !/connection closed|malformed frame/.test(l)).join("\n"));
});

describe("fuzzing the broker's client port", () => {
  test("seeded noise and mutated requests of every api: the broker stays up, bounded, and serving", async () => {
    const target: TcpFuzzTarget = { port: () => broker.port, corpus: clientCorpus("fuzz", "fuzz-group"), mutation: requestFrameMutations(MAX_FRAME_BYTES) };
    const rss = new RssSampler(() => vmRssBytes(broker.proc.pid));
    const unexpected = unexpectedErrorLines(() => broker.stderr());
    const plan = fuzzPlan(2000);
    let batches = 0;
    await runFuzz(
      plan,
      "client-port",
      (cases) => sendTcpBatch(cases, target, async () => {
        // A round trip on a connection opened before the batch: the broker has read the garbage by now.
        await client.request(API.metadata, {});
      }),
      async () => {
        expect(broker.proc.exitCode).toBeNull();
        expect(unexpected()).toEqual([]);
        rss.sample();
        expect(rss.peak - rss.baseline).toBeLessThan(RSS_GROWTH_LIMIT);
        if (++batches % 4 === 0) await assertBrokerServes(broker);
      },
    );
    await assertBrokerServes(broker);
    console.log(`client port fuzz: ${rss.describe()}`);
    expect(unexpected()).toEqual([]);
  });
});
