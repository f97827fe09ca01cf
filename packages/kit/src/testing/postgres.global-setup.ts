// vitest globalSetup: a real PostgreSQL for integration tests. DATABASE_URL when set (CI), else an
// embedded server in a temporary folder, stopped after the run.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../embedded-postgres';
import { freePort } from './ports';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.DATABASE_URL;
  if (given) {
    project.provide('adminDatabaseUrl', given);
    return async () => undefined;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'citadel-test-pg-'));
  chmodSync(dataDir, 0o755); // the postgres system user must reach it when tests run as root
  const db = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'citadel_test' });
  project.provide('adminDatabaseUrl', db.url);
  return async () => {
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
