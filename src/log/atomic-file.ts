/** Small files replaced atomically: write a temporary file, fsync it, rename it over, fsync the directory. */
import fs from "node:fs";
import path from "node:path";

export function writeFileAtomically(file: string, contents: string | Uint8Array): void {
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, "w");
  try {
    fs.writeSync(fd, typeof contents === "string" ? Buffer.from(contents) : contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  syncDirectory(path.dirname(file));
}

/** The same, off the event loop: for checkpoints, which must not stall request handling. */
export async function writeFileAtomicallyAsync(file: string, contents: Uint8Array): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await fs.promises.open(temp, "w");
  try {
    await handle.write(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  const dir = await fs.promises.open(path.dirname(file), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
