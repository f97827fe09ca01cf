// argon2id hashing with OWASP's parameters, a cap on concurrent hashes (each takes 19 MiB) and a bounded queue.
import argon2 from 'argon2';
import { ConcurrencyLimiter } from '@citadel/kit/limiter';

export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export class PasswordHasher {
  private readonly limiter: ConcurrencyLimiter;
  /** Verified against when the email is unknown, so both paths cost the same time. */
  private readonly dummy: Promise<string>;

  /** At most `concurrency` hashes at once, `queue` more waiting; beyond that TOO_MANY_REQUESTS. */
  constructor(concurrency: number, queue: number) {
    this.limiter = new ConcurrencyLimiter(concurrency, queue);
    this.dummy = argon2.hash('citadel-timing-equaliser', ARGON2_PARAMS);
  }

  hash(password: string): Promise<string> {
    return this.limiter.run(() => argon2.hash(password, ARGON2_PARAMS));
  }

  /** `hash` undefined means "no such account": spend the same time, then say no. */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const target = hash ?? (await this.dummy);
    const ok = await this.limiter.run(() => argon2.verify(target, password).catch(() => false));
    return ok && hash !== undefined;
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, ARGON2_PARAMS);
  }
}
