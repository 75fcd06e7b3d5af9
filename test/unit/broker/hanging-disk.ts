/** For broker tests with a disk that hangs instead of failing, through the FileIO seam. */
import { type FileIO, nodeFileIO } from "../../../src/log/file-io";
import { encodeBatch } from "../../../src/log/record-codec";
import type { RpcConnection } from "../../../src/net/rpc-connection";
import { API } from "../../../src/protocol/api";

/** nodeFileIO whose fdatasync waits, while `stalled`, until `release()`. */
export function stallingIO(): FileIO & { stalled: boolean; release(): void } {
  const waiting: (() => void)[] = [];
  const io = {
    ...nodeFileIO,
    stalled: false,
    release() {
      io.stalled = false;
      for (const wake of waiting.splice(0)) wake();
    },
    async datasync(fd: number) {
      if (io.stalled) await new Promise<void>((resolve) => waiting.push(resolve));
      await nodeFileIO.datasync(fd);
    },
  };
  return io;
}

export type PartitionResult = { error?: { code: string; message: string }; baseOffsets?: number[] };

/** Produces one record to partition 0 of topic "t" with acks=all; the partition's result. */
export async function produce(connection: RpcConnection, value: string): Promise<PartitionResult> {
  const batch = encodeBatch([{ value: new TextEncoder().encode(value) }]);
  const { body } = await connection.request(API.produce, { topic: "t", acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch]);
  return (body as { partitions: PartitionResult[] }).partitions[0]!;
}
