// Fails when schema/ differs from a fresh composition: run `npm run compose` and commit the result.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';
import { composeSchemaFiles } from './composition';

describe('committed schema files', () => {
  it('equal a fresh composition of every subgraph', async () => {
    const fresh = await composeSchemaFiles();
    expect(fresh.size).toBeGreaterThanOrEqual(3);
    for (const [path, text] of fresh) {
      const committed = await readFile(path, 'utf8').catch(() => '(missing)');
      expect(committed, `${relative(REPO_ROOT, path)} is stale: run npm run compose`).toBe(text);
    }
  });
});
