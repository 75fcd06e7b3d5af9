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

export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
