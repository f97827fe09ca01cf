// POST /internal/users/lookup against real PostgreSQL. Threat: anyone but an allowed platform
// service enumerating which addresses have accounts; only workspaces' service token is accepted.
import { describe, expect, it } from 'vitest';
import { useIdentity } from './testing/identity-harness';

const { identity, seed } = useIdentity();

async function lookup(body: unknown, authorization?: string) {
  const res = await fetch(identity.url.replace(/\/graphql$/, '/internal/users/lookup'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('user lookup by email', () => {
  it('answers an allowed service with the account id, whatever the case of the address', async () => {
    const user = await seed.user({ email: `Ada.Lookup-${Date.now()}@Example.com` });
    const token = `Bearer ${await identity.serviceToken('workspaces')}`;
    expect(await lookup({ email: user.email }, token)).toEqual({ status: 200, body: { id: user.id } });
    expect(await lookup({ email: `  ${user.email.toUpperCase()} ` }, token)).toEqual({ status: 200, body: { id: user.id } });
  });

  it('says 404 for an address with no account, and 400 for one that is not an address', async () => {
    const token = `Bearer ${await identity.serviceToken('workspaces')}`;
    expect(await lookup({ email: 'nobody-here@example.com' }, token)).toMatchObject({ status: 404, body: { errors: [{ extensions: { code: 'NOT_FOUND' } }] } });
    expect((await lookup({ email: 'not an address' }, token)).status).toBe(400);
    expect((await lookup({}, token)).status).toBe(400);
  });

  it('refuses callers that are not allowed services', async () => {
    const user = await seed.user();
    // No token, a gateway internal token, a service not on the list, a token for another audience.
    expect((await lookup({ email: user.email })).status).toBe(401);
    expect((await lookup({ email: user.email }, `Bearer ${await identity.internalToken()}`)).status).toBe(401);
    expect((await lookup({ email: user.email }, `Bearer ${await identity.serviceToken('audit')}`)).status).toBe(401);
    expect((await lookup({ email: user.email }, `Bearer ${await identity.serviceToken('workspaces', 'authz')}`)).status).toBe(401);
  });
});
