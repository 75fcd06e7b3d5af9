/**
 * The chaos run's every random choice comes from one seeded generator, so a
 * seed replays the same fault schedule.
 */
export { SeededRandom as Random } from "../seeded-random";

/** A fresh seed for a run that was given none (printed, so the run can be replayed). */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
