import crypto from "node:crypto";
import { promises as fs } from "node:fs";
import fsSync from "node:fs";
import path from "node:path";

/**
 * Tokens obtained at run time that must outlive a restart (OAuth 2 access and refresh tokens),
 * by instance: one file under the user directory, encrypted with AES-256-GCM under a key
 * derived from Node-RED's credential secret, written with a temp file and a rename.
 */
export interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; absent when the provider gave no expiry. */
  expiresAt?: number;
  scope?: string;
  /**
   * Which pasted credentials these tokens were refreshed from (a hash, never the values): when
   * the user pastes new ones into the instance, tokens refreshed from the old ones are ignored.
   */
  origin?: string;
}

/**
 * One instance's tokens as the OAuth 2 sign-in uses them. The embedded store answers `get` from
 * memory; a store shared by workers (Redis) also has `load` (read afresh, then `get` returns what
 * was read) and `refreshOnce` (one worker of all refreshes; the others wait for and read its token).
 */
export interface InstanceTokens {
  get(): StoredTokens | undefined;
  set(tokens: StoredTokens): Promise<void>;
  load?(): Promise<StoredTokens | undefined>;
  refreshOnce?(
    stale: (saved: StoredTokens) => boolean,
    refresh: (saved: StoredTokens | undefined) => Promise<StoredTokens>,
  ): Promise<StoredTokens>;
}

/** The key tokens are encrypted with, from Node-RED's credential secret (the same on every worker). */
export function tokenKey(secret: string): Buffer {
  return crypto.createHash("sha256").update(`pw-token-store:${secret}`).digest();
}

export function sealTokens(key: Buffer, plain: unknown): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(plain), "utf8"), cipher.final()]);
  return JSON.stringify({
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    data: data.toString("base64"),
  });
}

/** Throws when the text was sealed under another key or is damaged. */
export function openTokens(key: Buffer, text: string): unknown {
  const { iv, tag, data } = JSON.parse(text) as { iv: string; tag: string; data: string };
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
  decipher.setAuthTag(Buffer.from(tag, "base64"));
  return JSON.parse(
    Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8"),
  );
}

export class TokenStore {
  private readonly key: Buffer;
  /** By instance id; a Map, so an id is only ever a key. */
  private tokens = new Map<string, StoredTokens>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    secret: string,
    /** Told when the file cannot be read (a changed credential secret, a damaged file). */
    private readonly warn: (message: string) => void = () => {},
  ) {
    if (!secret) throw new Error("the token store needs Node-RED's credential secret");
    this.key = tokenKey(secret);
    this.load();
  }

  get(instanceId: string): StoredTokens | undefined {
    return this.tokens.get(instanceId);
  }

  async set(instanceId: string, tokens: StoredTokens): Promise<void> {
    this.tokens.set(instanceId, tokens);
    await this.save();
  }

  async delete(instanceId: string): Promise<void> {
    this.tokens.delete(instanceId);
    await this.save();
  }

  private load(): void {
    let text: string;
    try {
      text = fsSync.readFileSync(this.file, "utf8");
    } catch {
      return;
    }
    try {
      const plain = openTokens(this.key, text) as Record<string, StoredTokens>;
      this.tokens = new Map(Object.entries(plain));
    } catch (err) {
      // A changed credential secret or a damaged file. Kept aside, never overwritten: with the
      // old secret back it can still be read; meanwhile instances ask to authorize again.
      const aside = `${this.file}.unreadable-${Date.now()}`;
      let kept: string;
      try {
        fsSync.renameSync(this.file, aside);
        kept = `; it was moved to ${aside}`;
      } catch {
        kept = "; it could not be moved aside";
      }
      this.warn(
        `the OAuth token file ${this.file} cannot be read (${(err as Error).message}): a changed credentialSecret, or a damaged file${kept}. Instances that sign in with OAuth must be authorized again`,
      );
      this.tokens = new Map();
    }
  }

  private save(): Promise<void> {
    const text = sealTokens(this.key, Object.fromEntries(this.tokens));
    this.writing = this.writing.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, text, { mode: 0o600 });
      await fs.rename(tmp, this.file);
    });
    return this.writing;
  }
}
