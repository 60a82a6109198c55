import { randomBytes } from "node:crypto";

// Crockford base32: ids sort by creation time as plain strings, which the run store and
// any listing "newest first" get for free.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A 26-character, time-ordered, unique id (ULID layout: 48-bit ms time + 80 random bits). */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[pool[poolAt + i] & 31];
  poolAt += 16;
  return time + rand;
}

// One call to the system's random source per 256 ids: a run starts on every trigger firing.
let pool = Buffer.alloc(0);
let poolAt = 0;
