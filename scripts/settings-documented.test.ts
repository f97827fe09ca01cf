// Every environment variable a service, the launcher or the CLI reads has a row in README's settings
// table: an operator must not have to read env.ts to learn that a setting exists.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The files that declare settings: every env.ts, the launcher's, the kit's shared blocks. */
function settingsFiles(): string[] {
  const subgraphs = readdirSync(join(REPO_ROOT, 'subgraphs')).map((name) => `subgraphs/${name}/src/env.ts`);
  return ['gateway/src/env.ts', ...subgraphs, 'scripts/launcher-env.ts', 'packages/kit/src/telemetry.ts', 'clients/cli/src/env.ts'];
}

/** Keys of zod shapes (`  NAME: z...`) and reads of `vars.NAME` / `process.env.NAME`. */
export function declaredVariables(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) names.add(match[1]!);
  for (const match of source.matchAll(/(?:vars|process\.env)\.([A-Z][A-Z0-9_]{2,})/g)) names.add(match[1]!);
  return [...names];
}

describe('README settings table', () => {
  const settings = read('README.md').split('## Settings')[1] ?? '';

  it('finds the variables it checks (the scan itself works)', () => {
    expect(declaredVariables("  GATEWAY_PORT: port(4000),\n  if (vars.CITADEL_URL) x;")).toEqual(['GATEWAY_PORT', 'CITADEL_URL']);
    expect(settings.length).toBeGreaterThan(0);
  });

  it.each(settingsFiles())('lists every variable %s reads', (file) => {
    const missing = declaredVariables(read(file)).filter((name) => !settings.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
