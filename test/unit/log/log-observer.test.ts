import { afterEach, describe, expect, test } from "bun:test";
import type { KafkaCloneError } from "../../../src/errors";
import { timedFileIO } from "../../../src/log/log-observer";
import { errnoError, TrackingIO } from "./helpers";
import { batch, LogFixture } from "./log-fixtures";

const fixture = new LogFixture();
afterEach(() => fixture.cleanup());

describe("LogObserver and timedFileIO", () => {
  test("appends report their records and frame bytes; every fsync is timed", async () => {
    const synced: number[] = [];
    const { log } = fixture.make({}, new TrackingIO(timedFileIO(new TrackingIO(), (s) => synced.push(s))));
    const appended: [string, number, number, number][] = [];
    log.observer = { appended: (...args) => appended.push(args) };
    const frame = batch(3);
    const { nextOffset } = log.append(frame, 1);
    await log.waitFor(nextOffset, "all");
    expect(appended).toEqual([["t", 0, 3, frame.length]]);
    expect(synced.length).toBeGreaterThan(0);
    expect(synced.every((s) => s >= 0 && s < 10)).toBe(true);
  });

  test("a failed fsync is reported once, as a STORAGE_ERROR", async () => {
    const io = new TrackingIO();
    const { log } = fixture.make({}, io);
    const errors: KafkaCloneError[] = [];
    log.observer = { storageError: (_topic, _partition, error) => errors.push(error) };
    io.onDatasync = () => Promise.reject(errnoError("EIO"));
    const { nextOffset } = log.append(batch(1), 1);
    await expect(log.waitFor(nextOffset, "all")).rejects.toThrow();
    expect(errors.map((e) => e.code)).toEqual(["STORAGE_ERROR"]);
    expect(errors[0]!.message).toContain("EIO");
  });
});
