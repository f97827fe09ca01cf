// Accounts, calls and fixtures for the workspaces tests through the gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphqlRequest, type GraphQLResponse } from '@citadel/kit/testing/graphql-client';

export type Body<T> = GraphQLResponse<T>['body'];
export type Role = 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER';

export interface Account {
  id: string;
  email: string;
  token: string;
}

const PASSWORD = 'workspaces e2e passphrase';

export const WORKSPACE = 'query($id: ID!) { workspace(id: $id) { id name myRole members { user { name } role } todos { totalCount } } }';
export const CREATE_WORKSPACE = 'mutation($name: String!) { createWorkspace(name: $name) { id } }';
export const ADD_MEMBER = 'mutation($i: AddMemberInput!) { addMember(input: $i) { role user { name } } }';
export const CHANGE_ROLE = 'mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role user { name } } }';
export const REMOVE_MEMBER = 'mutation($w: ID!, $u: ID!) { removeMember(workspaceId: $w, userId: $u) }';
export const TODO_FIELDS = 'id title description status dueAt version assignee { name } createdBy { name }';
export const CREATE_TODO = `mutation($i: CreateTodoInput!) { createTodo(input: $i) { ${TODO_FIELDS} } }`;
export const UPDATE_TODO = `mutation($i: UpdateTodoInput!) { updateTodo(input: $i) { ${TODO_FIELDS} } }`;
export const COMPLETE_TODO = `mutation($id: ID!) { completeTodo(id: $id) { ${TODO_FIELDS} } }`;
export const REOPEN_TODO = `mutation($id: ID!) { reopenTodo(id: $id) { ${TODO_FIELDS} } }`;
export const ASSIGN_TODO = `mutation($id: ID!, $a: ID) { assignTodo(id: $id, assigneeId: $a) { ${TODO_FIELDS} } }`;
export const DELETE_TODO = 'mutation($id: ID!) { deleteTodo(id: $id) }';

export interface Todo {
  id: string;
  title: string;
  description: string | null;
  status: 'OPEN' | 'DONE';
  dueAt: string | null;
  version: number;
  assignee: { name: string } | null;
  createdBy: { name: string };
}

/** One GraphQL call through the gateway; the body as it came. */
export async function call<T = Record<string, unknown>>(gql: string, token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<Body<T>> {
  const res = await graphqlRequest<T>(gql, query, { ...(token ? { token } : {}), ...(variables ? { variables } : {}) });
  return res.body;
}

/** The data of a call that must succeed; throws with the errors otherwise. */
export async function ok<T = Record<string, unknown>>(gql: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const body = await call<T>(gql, token, query, variables);
  if (body.errors?.length || !body.data) throw new Error(`expected success, got ${JSON.stringify(body.errors)} for ${query.slice(0, 80)}`);
  return body.data;
}

/** `ok` for a call without errors, else the first error's code. */
export const outcome = (body: Body<unknown>): string => (body.errors?.length ? String(body.errors[0]!.extensions?.code) : 'ok');

export const codes = (body: Body<unknown>): unknown[] => (body.errors ?? []).map((e) => e.extensions?.code);

export async function login(gql: string, email: string, password = PASSWORD): Promise<string> {
  const body = await call<{ login: { accessToken: string } }>(gql, undefined, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email, password } });
  if (!body.data) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
  return body.data.login.accessToken;
}

/** Registers a real account (named after the email's local part) and signs it in. */
export async function account(gql: string, email: string): Promise<Account> {
  const body = await call<{ register: { id: string } }>(gql, undefined, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
    i: { email, password: PASSWORD, name: email.split('@')[0] },
  });
  if (!body.data) throw new Error(`register failed: ${JSON.stringify(body.errors)}`);
  return { id: body.data.register.id, email, token: await login(gql, email) };
}

/** The development administrator `npm start` seeds (it holds audit.event.read). */
export function adminToken(gql: string, dataDir: string): Promise<string> {
  const credentials = readFileSync(join(dataDir, 'admin-credentials.txt'), 'utf8');
  return login(gql, /email: (\S+)/.exec(credentials)![1]!, /password: (\S+)/.exec(credentials)![1]!);
}

/** Polls `read` until `done` holds or the limit passes; returns the last value either way. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, limitMs = 10_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A workspace `owner` creates, with the others added in the roles given. */
export async function workspaceWith(gql: string, owner: Account, name: string, members: [Account, Role][] = []): Promise<string> {
  const { createWorkspace } = await ok<{ createWorkspace: { id: string } }>(gql, owner.token, CREATE_WORKSPACE, { name });
  await Promise.all(members.map(([who, role]) => ok(gql, owner.token, ADD_MEMBER, { i: { workspaceId: createWorkspace.id, userId: who.id, role } })));
  return createWorkspace.id;
}

export async function createTodo(gql: string, who: Account, workspaceId: string, input: Record<string, unknown> = {}): Promise<Todo> {
  const { createTodo } = await ok<{ createTodo: Todo }>(gql, who.token, CREATE_TODO, { i: { workspaceId, title: 'A todo', ...input } });
  return createTodo;
}
