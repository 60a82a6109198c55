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
  const bytes = randomBytes(16);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i] & 31];
  return time + rand;
}
