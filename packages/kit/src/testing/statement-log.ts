// A PostgreSQL for whole-platform tests that logs every statement it runs, so a test can count what
// one request sends through all the services (an N+1 shows as a count that grows with the rows).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../embedded-postgres';
import { freePort } from './ports';

export interface LoggedStatement {
  /** The backend's process id: one connection. */
  pid: number;
  sql: string;
}

export interface StatementLog {
  /** The `citadel` database, for DATABASE_URL. */
  url: string;
  /** The statements other connections ran while `run` ran, in the order PostgreSQL logged them. */
  statementsDuring(run: () => Promise<unknown>): Promise<LoggedStatement[]>;
  stop(): Promise<void>;
}

// Unlikely in any statement, so a line that starts with it is the start of a log entry.
const PREFIX = 'stmt-log>';
const ENTRY = new RegExp(`^${PREFIX} (\\d+) (\\w+):  (.*)$`);
const STATEMENT = /^(?:statement|execute [^:]*): ([\s\S]*)$/;

/**
 * Starts an embedded PostgreSQL under `dataDir` (as `npm start` does) with `log_statement = all`,
 * reading its log from its stderr. Statements are told apart from the test's own by markers that
 * the test's connection runs before and after: stderr is one pipe, so what a backend logged before
 * a response was sent comes before the marker run after that response arrived.
 */
export async function startStatementLog(dataDir: string): Promise<StatementLog> {
  const lines: string[] = [];
  let partial = '';
  const database = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database: 'citadel',
    onLog: (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    },
  });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(`alter system set log_statement = 'all'`);
  await client.query(`alter system set log_line_prefix = '${PREFIX} %p '`);
  await client.query('select pg_reload_conf()');
  const ownPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

  /** Runs a marker statement and resolves with the index of its log line once it is logged. */
  const mark = async (): Promise<number> => {
    const marker = `marker-${randomUUID()}`;
    const until = Date.now() + 10_000;
    // The first marker after the reload may run before this backend has applied it: run it again.
    for (;;) {
      await client.query(`select '${marker}'`);
      const wait = Date.now() + 1_000;
      while (Date.now() < wait) {
        const at = lines.findIndex((line) => line.includes(marker));
        if (at >= 0) return at;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (Date.now() > until) throw new Error('statement logging is not on: the marker never reached the log');
    }
  };
  await mark();

  return {
    url: database.url,
    async statementsDuring(run) {
      const from = await mark();
      await run();
      const to = await mark();
      const statements: LoggedStatement[] = [];
      let current: { pid: number; level: string; text: string } | undefined;
      const flush = () => {
        const sql = current && current.level === 'LOG' && current.pid !== ownPid ? STATEMENT.exec(current.text)?.[1] : undefined;
        if (sql !== undefined) statements.push({ pid: current!.pid, sql });
      };
      for (const line of lines.slice(from + 1, to)) {
        const entry = ENTRY.exec(line);
        if (entry) {
          flush();
          current = { pid: Number(entry[1]), level: entry[2]!, text: entry[3]! };
        } else if (current) {
          current.text += `\n${line}`; // a statement spanning lines
        }
      }
      flush();
      return statements;
    },
    async stop() {
      await client.end();
      await database.stop();
    },
  };
}

/**
 * Splits statements into units of work (a transaction, or one statement outside one, per connection)
 * and drops those where `isBackground` matches a statement: timers in the services (outbox relays)
 * share the connection pools with requests.
 */
export function withoutBackground(statements: LoggedStatement[], isBackground: (sql: string) => boolean): LoggedStatement[][] {
  const units: LoggedStatement[][] = [];
  const open = new Map<number, LoggedStatement[]>();
  for (const statement of statements) {
    const verb = statement.sql.trim().toLowerCase();
    let unit = open.get(statement.pid);
    if (!unit) {
      unit = [];
      units.push(unit);
      if (/^(begin|start transaction)/.test(verb)) open.set(statement.pid, unit);
    }
    unit.push(statement);
    if (/^(commit|rollback)/.test(verb)) open.delete(statement.pid);
  }
  return units.filter((unit) => !unit.some((s) => isBackground(s.sql)));
}
