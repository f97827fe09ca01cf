// Account use cases: create an account, read one.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { badUserInput } from '@citadel/kit/errors';
import { emailTaken } from '../identity.errors';
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
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly account: AccountService,
  ) {}

  async register(em: EntityManager, command: RegisterCommand): Promise<User> {
    const { email, canonical } = normalizeEmail(command.email);
    const name = command.name.trim().normalize('NFC');
    if (name.length < 1 || name.length > 200) throw badUserInput('Name must be 1 to 200 characters', { field: 'name' });
    assertAcceptablePassword(command.password, email);
    if (await em.count(User, { emailCanonical: canonical })) throw emailTaken();
    const user = em.create(User, {
      id: randomUUID(),
      email,
      emailCanonical: canonical,
      name,
      passwordHash: await this.hasher.hash(command.password),
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    try {
      await em.flush();
    } catch (error) {
      // Two registrations racing for one address: the unique index decides.
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
    await this.account.sendVerification(em, user);
    return user;
  }
}
