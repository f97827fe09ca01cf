// The bench's data, created through Citadel's gateway: an owner with `workspaces` workspaces of
// `todosPerWorkspace` todos each (assigned to the owner and a member in turn), a reader who is a
// member of the first `readerWorkspaces` of them (scenario a), `distinctReaders` more accounts like
// the reader (same name, same workspaces: the same answer as different callers), and a member of
// the first only (scenario f's smaller lists).
import type { Caller } from '@citadel/kit/auth';
import { POLICIES } from '@citadel/kit/permissions';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';

export interface Account {
  id: string;
  email: string;
  name: string;
  token: string;
}

export interface Seed {
  password: string;
  owner: Account;
  reader: Account;
  /** Accounts that see exactly what `reader` sees, each its own caller. */
  readers: Account[];
  single: Account;
  workspaceIds: string[];
  todosPerWorkspace: number;
}

const PASSWORD = 'a benchmark passphrase';

export async function seed(
  gql: string,
  sizes: { workspaces: number; todosPerWorkspace: number; readerWorkspaces: number; distinctReaders?: number },
): Promise<Seed> {
  const tag = Date.now().toString(36);
  const [owner, reader, single, helper] = await Promise.all(['owner', 'reader', 'single', 'helper'].map((name) => account(gql, `${name}-${tag}@example.com`, name)));
  const readers: Account[] = [];
  for (let i = 0; i < (sizes.distinctReaders ?? 0); i++) readers.push(await account(gql, `reader${i}-${tag}@example.com`, 'reader'));
  const workspaceIds: string[] = [];
  for (let w = 0; w < sizes.workspaces; w++) {
    const { createWorkspace } = await ok<{ createWorkspace: { id: string } }>(gql, owner!.token, 'mutation($n: String!) { createWorkspace(name: $n) { id } }', { n: `bench ${w}` });
    workspaceIds.push(createWorkspace.id);
    const members = [helper!, ...(w < sizes.readerWorkspaces ? [reader!, ...readers] : []), ...(w === 0 ? [single!] : [])];
    for (const m of members) await ok(gql, owner!.token, 'mutation($i: AddMemberInput!) { addMember(input: $i) { role } }', { i: { workspaceId: createWorkspace.id, userId: m.id, role: 'MEMBER' } });
  }
  // Todos, 8 in flight: creating 1,000 one by one would take most of a minute.
  const jobs = workspaceIds.flatMap((w) => Array.from({ length: sizes.todosPerWorkspace }, (_, i) => ({ w, i })));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let job = jobs[next++]; job; job = jobs[next++]) {
        await ok(gql, owner!.token, 'mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }', {
          i: { workspaceId: job.w, title: `todo ${job.i}`, assigneeId: (job.i % 2 ? helper! : owner!).id },
        });
      }
    }),
  );
  return { password: PASSWORD, owner: owner!, reader: reader!, readers, single: single!, workspaceIds, todosPerWorkspace: sizes.todosPerWorkspace };
}

async function account(gql: string, email: string, name: string): Promise<Account> {
  const reg = await graphqlRequest<{ register: { id: string } }>(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password: PASSWORD, name } } });
  if (!reg.body.data) throw new Error(`register failed: ${JSON.stringify(reg.body.errors)}`);
  return { id: reg.body.data.register.id, email, name, token: await login(gql, email) };
}

export async function login(gql: string, email: string): Promise<string> {
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { variables: { i: { email, password: PASSWORD } } });
  if (!res.body.data) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login.accessToken;
}

export async function ok<T = Record<string, unknown>>(gql: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await graphqlRequest<T>(gql, query, { token, variables });
  if (res.body.errors?.length || !res.body.data) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(res.body.errors)}`);
  return res.body.data;
}

/**
 * The caller Citadel's gateway would put behind `token`: the user and session from the access
 * token, global permissions as authz reports them, policies as the session grants them. Stock
 * gateways send this caller's internal token so the subgraphs do the same work for them.
 */
export async function callerOf(gql: string, token: string): Promise<Caller> {
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; sid?: string; amr?: unknown; email_verified?: unknown };
  const { me } = await ok<{ me: { permissions: string[] } }>(gql, token, '{ me { permissions } }');
  const policies = [...(Array.isArray(claims.amr) && claims.amr.includes('otp') ? [POLICIES.mfa] : []), ...(claims.email_verified === true ? [POLICIES.verified] : [])];
  return { userId: claims.sub, sessionId: claims.sid ?? null, permissions: me.permissions, policies };
}
