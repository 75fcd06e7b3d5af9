/** Garbage for the bad-input tests (seeded, so a failure can be replayed) and /proc readings of the broker. */
import fs from "node:fs";
import { mulberry32 as seededRandom } from "../seeded-random";
export { seededRandom };


export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A random MessagePack-able value: what a confused client might send as an envelope. */
export function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 2 ? 6 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return Math.floor(random() * 2 ** 40) - 2 ** 39;
    case 2: return random() * 1e6;
    case 3: return "s".repeat(Math.floor(random() * 100));
    case 4: return random() < 0.5;
    case 5: return randomBytes(random, Math.floor(random() * 32));
    case 6: return Array.from({ length: Math.floor(random() * 6) }, () => randomValue(random, depth + 1));
    case 7: return { api: randomValue(random, depth + 1), body: randomValue(random, depth + 1) };
    default: return [1, randomValue(random, depth + 1), randomValue(random, depth + 1), randomValue(random, depth + 1)];
  }
}

/** u32 frameLength | u32 envelopeLength | envelope, from raw envelope bytes. */
export function frameAround(envelope: Uint8Array, declaredEnvelopeLength = envelope.length): Uint8Array {
  const out = new Uint8Array(8 + envelope.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 4 + envelope.length);
  dv.setUint32(4, declaredEnvelopeLength);
  out.set(envelope, 8);
  return out;
}

export function vmRssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time the process has used so far, in clock ticks (user + system). */
export function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
