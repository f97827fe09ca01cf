// `npm run migrate`: applies pending migrations to DATABASE_URL.
import { createLogger } from '@citadel/kit/logger';
import { launcherEnv } from './launcher-env';
import { migrateAll } from './migrations';

if (!launcherEnv.DATABASE_URL) {
  process.stderr.write('DATABASE_URL is not set: `npm start` migrates its embedded database itself.\n');
  process.exit(1);
}
await migrateAll(launcherEnv.DATABASE_URL, createLogger('migrate', launcherEnv.LOG_LEVEL));
