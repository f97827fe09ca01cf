// Scenario (f): SQL statements one request sends, as the list it returns grows. The platform runs
// on a PostgreSQL whose statements can be logged (the kit's statement log); logging is on only
// while counting, so it costs the other scenarios nothing.
import pg from 'pg';
import { withoutBackground, type StatementLog } from '@citadel/kit/testing/statement-log';
import { ok, type Seed } from './seed';

export const LIST_QUERY = 'query($n: Int!) { me { workspaces { todos(first: $n) { edges { node { title assignee { name } createdBy { name } } } } } } }';

/**
 * What runs on timers beside requests (outbox relays, grant mirroring, revocation polls) or writes:
 * a listing writes nothing. The same list as e2e/workspaces.e2e.test.ts's count.
 */
const BACKGROUND = [/"outbox"/, /"grant_mirror"/, /"identity"\."sessions".*"revoked_at" >/, /^\s*(insert|update|delete)\b/i, /\bfor update\b/i];

export interface StatementFigures {
  /** Todos in the answer. */
  size: number;
  statements: number;
  /** The statements counted (first 160 characters each), to see what a growing count adds. */
  sql: string[];
}

export async function setStatementLogging(log: StatementLog, on: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: log.url });
  await client.connect();
  try {
    await client.query(`alter system set log_statement = '${on ? 'all' : 'none'}'`);
    await client.query('select pg_reload_conf()');
  } finally {
    await client.end();
  }
}

/**
 * Lists of todosPerWorkspace / 10 and todosPerWorkspace todos (one workspace), then of every
 * workspace's todos (the owner's): 10, 100 and 1,000 at full size. Fewest of three counts, as a
 * timer landing in a window only adds.
 */
export async function measureStatements(gql: string, log: StatementLog, data: Seed): Promise<StatementFigures[]> {
  const per = data.todosPerWorkspace;
  const cases = [
    { token: data.single.token, first: Math.max(1, Math.floor(per / 10)) },
    { token: data.single.token, first: per },
    { token: data.owner.token, first: per },
  ];
  const list = async (token: string, first: number) => {
    const { me } = await ok<{ me: { workspaces: { todos: { edges: unknown[] } }[] } }>(gql, token, LIST_QUERY, { n: first });
    return me.workspaces.reduce((n, w) => n + w.todos.edges.length, 0);
  };
  for (const c of cases) await list(c.token, c.first); // warm: plans, permissions, keys
  await setStatementLogging(log, true);
  try {
    const figures: StatementFigures[] = [];
    for (const c of cases) {
      let size = 0;
      let fewest: string[] | undefined;
      for (let i = 0; i < 3; i++) {
        const statements = await log.statementsDuring(async () => (size = await list(c.token, c.first)));
        const counted = withoutBackground(statements, (sql) => BACKGROUND.some((p) => p.test(sql))).flat();
        if (!fewest || counted.length < fewest.length) fewest = counted.map((s) => s.sql.replace(/\s+/g, ' ').slice(0, 160));
      }
      figures.push({ size, statements: fewest!.length, sql: fewest! });
    }
    return figures;
  } finally {
    await setStatementLogging(log, false);
  }
}
