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
    this.key = crypto.createHash("sha256").update(`pw-token-store:${secret}`).digest();
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
      const { iv, tag, data } = JSON.parse(text) as { iv: string; tag: string; data: string };
      const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      const plain = JSON.parse(
        Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8"),
      ) as Record<string, StoredTokens>;
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
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([
      cipher.update(JSON.stringify(Object.fromEntries(this.tokens)), "utf8"),
      cipher.final(),
    ]);
    const text = JSON.stringify({
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    });
    this.writing = this.writing.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, text, { mode: 0o600 });
      await fs.rename(tmp, this.file);
    });
    return this.writing;
  }
}
