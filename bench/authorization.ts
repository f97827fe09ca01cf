// The cost of field authorization at the gateway: one query touching 50 protected fields, sent
// alternately to two gateway processes on the same subgraphs, one enforcing and one with
// AUTHORIZATION_MODE=off. Alternating keeps machine noise out of the comparison.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { startExtraGateway, type Platform } from '../e2e/launcher';

export interface AuthorizationCost {
  on: number[];
  off: number[];
  denied: number[];
  fields: number;
}

/** 25 aliases of `user(id)` (protected) each selecting `disabledAt` (protected): 50 protected fields. */
export function protectedQuery(userId: string, aliases = 25): string {
  const fields = Array.from({ length: aliases }, (_, i) => `u${i}: user(id: "${userId}") { id disabledAt }`);
  return `{ ${fields.join(' ')} }`;
}

export async function measureAuthorizationCost(platform: Platform, requests: number): Promise<AuthorizationCost> {
  const gql = `${platform.gatewayUrl}/graphql`;
  const off = await startExtraGateway(platform, { AUTHORIZATION_MODE: 'off', MAX_ALIASES: '100', MAX_ROOT_FIELDS: '100', LOG_LEVEL: 'warn' });
  try {
    const text = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
    const [email, password] = [/email: (\S+)/.exec(text)![1]!, /password: (\S+)/.exec(text)![1]!];
    const login = await graphqlRequest<{ login: { accessToken: string; user: { id: string } } }>(
      gql,
      'mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }',
      { variables: { i: { email, password } } },
    );
    const { accessToken: admin, user } = login.body.data!.login;
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
      variables: { i: { email: 'authz-bench@example.com', password: 'an authorization bench passphrase', name: 'B' } },
    });
    const plain = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email: 'authz-bench@example.com', password: 'an authorization bench passphrase' } },
    });
    const query = protectedQuery(user.id);
    const check = await graphqlRequest(gql, query, { token: admin });
    if (check.body.errors) throw new Error(`bench query failed: ${JSON.stringify(check.body.errors[0])}`);
    const time = async (url: string, token: string) => {
      const t = performance.now();
      await graphqlRequest(url, query, { token });
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) await Promise.all([time(gql, admin), time(off.url, admin), time(gql, plain.body.data!.login.accessToken)]);
    const cost: AuthorizationCost = { on: [], off: [], denied: [], fields: 50 };
    for (let i = 0; i < requests; i++) {
      cost.on.push(await time(gql, admin));
      cost.off.push(await time(off.url, admin));
      // A caller without identity.user.read: every field removed, nulls and errors put back.
      cost.denied.push(await time(gql, plain.body.data!.login.accessToken));
    }
    return cost;
  } finally {
    off.stop();
  }
}
