import { describe, expect, test } from "bun:test";
import { MainThreadWatch } from "../../../src/broker/main-thread-watch";

describe("main-thread watch", () => {
  test("heartbeats go on while the main thread pings, even late", () => {
    const watch = new MainThreadWatch(0, 5000);
    for (let t = 100; t <= 60_000; t += 100) {
      if (t % 1700 === 0) watch.heard(t);
      expect(watch.check(t)).toEqual({ mayHeartbeat: true, change: null });
    }
  });

  test("a main thread silent past the limit withholds heartbeats, once said; speaking again resumes them", () => {
    const watch = new MainThreadWatch(0, 5000);
    expect(watch.check(5000).mayHeartbeat).toBe(true);
    expect(watch.check(5001)).toEqual({ mayHeartbeat: false, change: "withheld" });
    expect(watch.check(9000)).toEqual({ mayHeartbeat: false, change: null });
    watch.heard(9100);
    expect(watch.check(9200)).toEqual({ mayHeartbeat: true, change: "resumed" });
    expect(watch.check(9300)).toEqual({ mayHeartbeat: true, change: null });
  });
});
