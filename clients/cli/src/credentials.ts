// The credentials file: tokens per gateway, readable by the user alone (file 0600, folder 0700).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** ISO time the access token expires. */
  expiresAt: string;
  user: { id: string; email: string; name: string };
}

interface CredentialsFile {
  version: 1;
  /** Keyed by the gateway's GraphQL endpoint. */
  sessions: Record<string, StoredSession>;
}

export const CREDENTIALS_FILE = 'credentials.json';

export class CredentialsStore {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, CREDENTIALS_FILE);
  }

  get(endpoint: string): StoredSession | undefined {
    return this.read().sessions[endpoint];
  }

  set(endpoint: string, session: StoredSession): void {
    const file = this.read();
    file.sessions[endpoint] = session;
    this.write(file);
  }

  /** Forgets the endpoint's tokens; removes the file when no session is left. */
  delete(endpoint: string): void {
    const file = this.read();
    if (!(endpoint in file.sessions)) return;
    delete file.sessions[endpoint];
    if (Object.keys(file.sessions).length === 0) rmSync(this.path, { force: true });
    else this.write(file);
  }

  private read(): CredentialsFile {
    if (!existsSync(this.path)) return { version: 1, sessions: {} };
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      // A damaged file holds no usable tokens; the next login writes a good one.
      return { version: 1, sessions: {} };
    }
    const sessions = (parsed as Partial<CredentialsFile> | null)?.sessions;
    return { version: 1, sessions: sessions && typeof sessions === 'object' ? { ...sessions } : {} };
  }

  /** Written beside and renamed over, so a reader never sees half a file; the mode is set before any token is in it. */
  private write(file: CredentialsFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, '', { mode: 0o600 });
    chmodSync(temp, 0o600);
    writeFileSync(temp, JSON.stringify(file, null, 2) + '\n');
    renameSync(temp, this.path);
  }
}
