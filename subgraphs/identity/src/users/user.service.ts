// Account use cases: create an account, read one.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { badUserInput } from '@citadel/kit/errors';
import type { Outbox } from '@citadel/kit/outbox';
import { emailTaken, IDENTITY_ERRORS } from '../identity.errors';
import type { AccountService } from '../account/account.service';
import type { PasswordHasher } from '../passwords/password-hasher';
import { assertAcceptablePassword } from '../passwords/password-policy';
import { normalizeEmail } from './email';
import { User } from './user.entity';

export interface RegisterCommand {
  email: string;
  password: string;
  name: string;
}

export class UserService {
  /**
   * @param revealTakenEmail true: a taken address is EMAIL_TAKEN (issue 2's contract). false: the
   *   answer looks like a new account's and the address's owner is told by mail instead, so sign-up
   *   cannot be used to find out who has an account (REGISTRATION_REVEALS_TAKEN_EMAIL).
   *   Either way audit gets `identity.user.registration-refused` (EMAIL_TAKEN) naming the owner.
   */
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly account: AccountService,
    private readonly revealTakenEmail: boolean,
    private readonly outbox: Outbox,
  ) {}

  async register(em: EntityManager, command: RegisterCommand): Promise<User> {
    const { email, canonical } = normalizeEmail(command.email);
    const name = command.name.trim().normalize('NFC');
    if (name.length < 1 || name.length > 200) throw badUserInput('Name must be 1 to 200 characters', { field: 'name' });
    assertAcceptablePassword(command.password, email);
    const existing = await em.findOne(User, { emailCanonical: canonical });
    if (existing) return this.taken(em, existing, { email, name, password: command.password });
    const user = em.create(User, {
      id: randomUUID(),
      email,
      emailCanonical: canonical,
      name,
      passwordHash: await this.hasher.hash(command.password),
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    this.outbox.add(em, { action: 'identity.user.registered', target: { type: 'User', id: user.id }, changes: { after: { email, name } } });
    try {
      await em.flush();
    } catch (error) {
      // Two registrations racing for one address: the unique index decides.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      em.clear();
      const winner = await em.findOneOrFail(User, { emailCanonical: canonical });
      return this.taken(em, winner, { email, name, password: command.password });
    }
    this.account.later(() => this.account.sendVerification(em.fork(), user));
    return user;
  }

  /** A sign-up for an address that has an account: EMAIL_TAKEN, or the same answer as a new one. */
  private async taken(em: EntityManager, owner: User, attempt: { email: string; name: string; password: string }): Promise<User> {
    this.outbox.add(em, {
      action: 'identity.user.registration-refused',
      target: { type: 'User', id: owner.id },
      outcome: 'failure',
      reason: IDENTITY_ERRORS.EMAIL_TAKEN,
    });
    await em.flush();
    if (this.revealTakenEmail) throw emailTaken();
    // The same work as a real sign-up (a hash; the mail goes after the answer on both paths), and a
    // look-alike of a new account.
    await this.hasher.hash(attempt.password);
    this.account.later(() => this.account.notifySignUpAttempt(owner));
    return Object.assign(new User(), {
      id: randomUUID(),
      email: attempt.email,
      emailCanonical: owner.emailCanonical,
      name: attempt.name,
      emailVerifiedAt: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
  }
}
