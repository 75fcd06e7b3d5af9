import fs from "node:fs";
import { defineCommand, type ParsedArgs } from "citty";
import { KafkaCloneError } from "../errors";
import { nodeFileIO } from "../log/file-io";
import { scanFrames } from "../log/frame-scanner";
import { decodeRecords } from "../log/record-codec";
import { failAndExit } from "./output";
import { configurable, resolveArgs } from "./resolve-args";

const text = new TextDecoder("utf-8", { fatal: false });

function printable(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : text.decode(bytes);
}

const dumpArgs = configurable({
  file: { type: "positional", description: "path to a .log segment file", required: true },
  records: { type: "boolean", description: "print each record, not only batch headers (--no-records to skip)", default: true },
  json: { type: "boolean", description: "one JSON object per batch and per record", default: false },
} as const);

export const dumpCommand = defineCommand({
  meta: {
    name: "dump",
    description: "Print a segment file's batches and records, like Kafka's DumpLogSegments",
  },
  args: dumpArgs,
  run(context) {
    let args: ParsedArgs<typeof dumpArgs>;
    try {
      args = resolveArgs(context, dumpArgs, "log");
    } catch (error) {
      failAndExit(error);
    }
    const file = String(args.file);
    if (!file.endsWith(".log")) failAndExit(new KafkaCloneError("INVALID_ARGUMENT", `${file} is not a .log segment file`));
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (error) {
      failAndExit(new KafkaCloneError("INVALID_ARGUMENT", `cannot open ${file}: ${(error as Error).message}`));
    }
    const size = fs.fstatSync(fd).size;
    const out = (line: string) => process.stdout.write(`${line}\n`);
    if (!args.json) out(`Dumping ${file} (${size} bytes)`);
    let batches = 0;
    let records = 0;
    const result = scanFrames(nodeFileIO, fd, 0, size, ({ position, header, bytes }) => {
      batches++;
      records += header.recordCount;
      const lastOffset = header.baseOffset + header.recordCount - 1;
      if (args.json) {
        out(JSON.stringify({ type: "batch", position, lastOffset, ...header, checksumValid: true }));
      } else {
        out(
          `baseOffset: ${header.baseOffset} lastOffset: ${lastOffset} count: ${header.recordCount} position: ${position} ` +
            `size: ${header.frameSize} leaderEpoch: ${header.leaderEpoch} firstTimestamp: ${header.firstTimestamp} ` +
            `maxTimestamp: ${header.maxTimestamp} producerId: ${header.producerId} producerEpoch: ${header.producerEpoch} ` +
            `baseSequence: ${header.baseSequence} checksum: ${header.checksum} isValid: true`,
        );
      }
      if (!args.records) return;
      for (const record of decodeRecords(bytes)) {
        const headers = Object.fromEntries(record.headers.map(([name, value]) => [name, printable(value)]));
        if (args.json) {
          out(JSON.stringify({ type: "record", offset: record.offset, timestamp: record.timestamp, key: printable(record.key), value: printable(record.value), headers }));
        } else {
          out(
            `| offset: ${record.offset} timestamp: ${record.timestamp} key: ${printable(record.key)} ` +
              `headers: ${JSON.stringify(headers)} payload: ${printable(record.value)}`,
          );
        }
      }
    });
    fs.closeSync(fd);
    const summary = { type: "summary", batches, records, validBytes: result.validEnd, totalBytes: size, stopReason: result.stopReason };
    if (args.json) out(JSON.stringify(summary));
    else out(`${batches} batches, ${records} records, ${result.validEnd} of ${size} bytes valid`);
    if (result.stopReason !== null) {
      process.stderr.write(`kafka-clone: invalid batch at position ${result.validEnd}: ${result.stopReason}\n`);
      process.exit(1);
    }
  },
});
