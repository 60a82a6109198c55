import crypto from "node:crypto";
import { promises as fs } from "node:fs";
import fsSync from "node:fs";
import path from "node:path";
import { ownValue, setKey } from "../keys";

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
}

export class TokenStore {
  private readonly key: Buffer;
  private tokens: Record<string, StoredTokens> = {};
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    secret: string,
  ) {
    if (!secret) throw new Error("the token store needs Node-RED's credential secret");
    this.key = crypto.createHash("sha256").update(`pw-token-store:${secret}`).digest();
    this.load();
  }

  get(instanceId: string): StoredTokens | undefined {
    return ownValue(this.tokens, instanceId) as StoredTokens | undefined;
  }

  async set(instanceId: string, tokens: StoredTokens): Promise<void> {
    setKey(this.tokens, instanceId, tokens);
    await this.save();
  }

  async delete(instanceId: string): Promise<void> {
    delete this.tokens[instanceId];
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
      this.tokens = JSON.parse(
        Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8"),
      );
    } catch {
      // A changed credential secret (or a damaged file): the tokens are gone, instances ask to authorize again.
      this.tokens = {};
    }
  }

  private save(): Promise<void> {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(this.tokens), "utf8"), cipher.final()]);
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
