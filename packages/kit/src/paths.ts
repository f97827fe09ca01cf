// Where the repository's folders are, whatever the working directory of the process.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DATA_DIR = join(REPO_ROOT, '.data');
export const SCHEMA_DIR = join(REPO_ROOT, 'schema');
export const migrationsDir = (subgraph: string) => join(REPO_ROOT, 'migrations', subgraph);
