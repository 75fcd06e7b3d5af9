import { defineCommand } from "citty";
import { Admin } from "../client/admin";
import { Producer, type RecordMetadata } from "../client/producer";
import { KafkaCloneError } from "../errors";
import { validateTopicName } from "../log/topic-name";
import { ACKS } from "../protocol/api";
import { choiceFlag, intFlag, optionalIntFlag } from "./args";
import { configurable, resolveArgs } from "./resolve-args";
import { CLIENT_ARGS, clusterOptionsFrom } from "./client-args";
import { readLines, splitOnce } from "./line-reader";
import { runOrExit } from "./output";

const args = configurable({
  topic: { type: "string", description: "topic to write to", required: true },
  ...CLIENT_ARGS,
  message: { type: "string", description: "send this one record instead of reading stdin" },
  key: { type: "string", description: "the key of every record" },
  "key-separator": { type: "string", description: "split each line into key and value at the first occurrence of this" },
  partition: { type: "string", description: "write every record to this partition" },
  acks: { type: "string", description: "all (fsynced), 1 (written) or 0 (not waited for)", default: "all" },
  create: { type: "boolean", description: "create the topic if it does not exist", default: false },
  partitions: { type: "string", description: "partitions for a topic made by --create", default: "1" },
  verbose: { type: "boolean", description: 'print {"partition","offset"} for each record, in input order', default: false },
  "linger-ms": { type: "string", description: "how long a batch waits for more records", default: "5" },
} as const);

const MAX_UNACKNOWLEDGED = 50_000;
const encoder = new TextEncoder();

export const produceCommand = defineCommand({
  meta: { name: "produce", description: "Write records to a topic: one per stdin line, or --message" },
  args,
  run: (context) =>
    runOrExit(async () => {
      const a = resolveArgs(context, args, "produce");
      const topic = validateTopicName(a.topic);
      if (a.key !== undefined && a["key-separator"] !== undefined) {
        throw new KafkaCloneError("INVALID_ARGUMENT", "use --key or --key-separator, not both");
      }
      const cluster = clusterOptionsFrom(a);
      const partition = optionalIntFlag(a.partition, "partition");
      const producer = new Producer({
        ...cluster,
        acks: choiceFlag(a.acks, "acks", ACKS),
        lingerMs: intFlag(a["linger-ms"], "linger-ms", { max: 60_000 }),
      });
      if (a.create) {
        const admin = new Admin(cluster);
        try {
          await admin.ensureTopic(topic, intFlag(a.partitions, "partitions", { min: 1, max: 10_000 }));
        } finally {
          admin.close();
        }
      }
      await producer.partitionCount(topic);
      const fixedKey = a.key === undefined ? null : encoder.encode(a.key);
      const separator = a["key-separator"] === undefined ? null : encoder.encode(a["key-separator"]);
      if (separator !== null && separator.length === 0) throw new KafkaCloneError("INVALID_ARGUMENT", "--key-separator cannot be empty");
      const lines = a.message !== undefined ? single(encoder.encode(a.message)) : readLines(Bun.stdin.stream());

      // Records not yet reported, in input order; each is reported (with --verbose, printed) as soon
      // as it and every record before it are settled, so a producer fed line by line shows its acks live.
      const window: { result: RecordMetadata | KafkaCloneError | null }[] = [];
      let failures = 0;
      let firstFailure: KafkaCloneError | null = null;
      let roomOrEmpty: (() => void) | null = null;
      const drain = () => {
        let out = "";
        while (window.length > 0 && window[0]!.result !== null) {
          const result = window.shift()!.result!;
          if (result instanceof KafkaCloneError) {
            failures++;
            firstFailure ??= result;
          } else if (a.verbose) {
            out += `${JSON.stringify({ partition: result.partition, offset: result.offset })}\n`;
          }
        }
        if (out.length > 0) process.stdout.write(out);
        roomOrEmpty?.();
      };
      const waitFor = async (done: () => boolean) => {
        while (!done()) await new Promise<void>((resolve) => (roomOrEmpty = resolve));
        roomOrEmpty = null;
      };
      for await (const line of lines) {
        let key: Uint8Array | null = fixedKey;
        let value: Uint8Array = line;
        if (separator !== null) {
          const parts = splitOnce(line, separator);
          if (parts) [key, value] = parts;
        }
        const entry: (typeof window)[number] = { result: null };
        window.push(entry);
        producer.send(topic, { key, value, partition }).then(
          (metadata) => {
            entry.result = metadata;
            drain();
          },
          (error: KafkaCloneError) => {
            entry.result = error;
            drain();
          },
        );
        if (window.length >= MAX_UNACKNOWLEDGED) await waitFor(() => window.length < MAX_UNACKNOWLEDGED);
      }
      await producer.flush();
      await waitFor(() => window.length === 0);
      await producer.close();
      if (firstFailure !== null) {
        throw new KafkaCloneError((firstFailure as KafkaCloneError).code, `${failures} record(s) not acknowledged; first error: ${(firstFailure as KafkaCloneError).message}`);
      }
      process.exit(0);
    }),
});

async function* single(value: Uint8Array): AsyncGenerator<Uint8Array> {
  yield value;
}
