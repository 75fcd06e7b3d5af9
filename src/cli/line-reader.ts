/** Splits a byte stream into lines without decoding them (records keep their exact bytes). */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    let data = chunk;
    if (carry.length > 0) {
      data = new Uint8Array(carry.length + chunk.length);
      data.set(carry);
      data.set(chunk, carry.length);
    }
    let start = 0;
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, start)) {
      yield trimCarriageReturn(data.subarray(start, i));
      start = i + 1;
    }
    carry = data.slice(start);
  }
  if (carry.length > 0) yield trimCarriageReturn(carry);
}

function trimCarriageReturn(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, line.length - 1) : line;
}

/** Splits at the first occurrence of `separator`; null when it does not occur. */
export function splitOnce(line: Uint8Array, separator: Uint8Array): [Uint8Array, Uint8Array] | null {
  outer: for (let i = 0; i + separator.length <= line.length; i++) {
    for (let j = 0; j < separator.length; j++) if (line[i + j] !== separator[j]) continue outer;
    return [line.subarray(0, i), line.subarray(i + separator.length)];
  }
  return null;
}
