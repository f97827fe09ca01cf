// `npm run admin -- grant --email x --role admin [--scope workspace:<id>]` (and `revoke`): the way to
// name the first administrator. Works on the database directly: DATABASE_URL, or the embedded
// PostgreSQL of a running `npm start`.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { embeddedDatabaseUrl } from '@citadel/kit/embedded-postgres';
import { createLogger } from '@citadel/kit/logger';
import { launcherEnv as env } from './launcher-env';
import { openPlatformAdmin } from './platform-admin';

const USAGE = 'usage: npm run admin -- grant|revoke --email <address> --role <name> [--scope global|<type>:<id>]';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, role: { type: 'string' }, scope: { type: 'string' } },
  });
  const [command] = positionals;
  if ((command !== 'grant' && command !== 'revoke') || !values.email || !values.role) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const logger = createLogger('admin', 'warn');
  const url = env.DATABASE_URL ?? embeddedDatabaseUrl(env.EMBEDDED_PG_PORT);
  const admin = await openPlatformAdmin(url, logger, env.REDIS_URL);
  try {
    if (command === 'grant') {
      await admin.grant(values.email, values.role, values.scope);
      process.stdout.write(`granted ${values.role} (${values.scope ?? 'global'}) to ${values.email}\n`);
    } else {
      const removed = await admin.revoke(values.email, values.role, values.scope);
      process.stdout.write(removed ? `revoked ${values.role} from ${values.email}\n` : `${values.email} did not hold ${values.role} there\n`);
    }
    return 0;
  } finally {
    await admin.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
