// Which account holds an email address, asked of identity (POST /internal/users/lookup with a
// workspaces service token): how addMember adds someone by email.
import type { ServiceTokenMinter } from '@citadel/kit/auth';

/** Resolves an email address to an account id; null when no account has it. */
export type LookupUserByEmail = (email: string) => Promise<string | null>;

export function identityUserLookup(options: { url: string; minter: ServiceTokenMinter; timeoutMs?: number }): LookupUserByEmail {
  return async (email) => {
    const response = await fetch(`${options.url}/internal/users/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await options.minter.mint('identity')}` },
      body: JSON.stringify({ email }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (response.status === 404) return null;
    // Anything else is unexpected here (the address was checked first): an internal error for the client.
    if (!response.ok) throw new Error(`identity answered ${response.status} to a user lookup: ${(await response.text()).slice(0, 300)}`);
    const body = (await response.json()) as { id?: unknown };
    if (typeof body.id !== 'string') throw new Error('identity answered a user lookup without an id');
    return body.id;
  };
}
