/** A disk that hangs instead of failing: nodeFileIO whose fdatasync waits, while `stalled`, until `release()`. */
import { type FileIO, nodeFileIO } from "../../../src/log/file-io";

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
