// argon2id hashing with OWASP's parameters and a cap on concurrent hashes (each takes 19 MiB).
import argon2 from 'argon2';

export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export class PasswordHasher {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Verified against when the email is unknown, so both paths cost the same time. */
  private readonly dummy: Promise<string>;

  constructor(private readonly maxConcurrent: number) {
    this.dummy = argon2.hash('citadel-timing-equaliser', ARGON2_PARAMS);
  }

  hash(password: string): Promise<string> {
    return this.limit(() => argon2.hash(password, ARGON2_PARAMS));
  }

  /** `hash` undefined means "no such account": spend the same time, then say no. */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const target = hash ?? (await this.dummy);
    const ok = await this.limit(() => argon2.verify(target, password).catch(() => false));
    return ok && hash !== undefined;
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, ARGON2_PARAMS);
  }

  private async limit<T>(work: () => Promise<T>): Promise<T> {
    // A finishing hash hands its slot straight to the next waiter, so the cap is never exceeded.
    if (this.active >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
