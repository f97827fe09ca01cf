// Fails when clients/*/src/gql/ differs from a fresh codegen run: run `npm run codegen` and commit the result.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';
import { clientNames, codegenConfig } from '../codegen';

describe('committed generated client code', () => {
  it('equals a fresh codegen run for every client', async () => {
    expect(clientNames(REPO_ROOT)).toContain('cli');
    const files: { filename: string; content: string }[] = await generate({ ...codegenConfig(REPO_ROOT), silent: true }, false);
    const names = files.map((file) => relative(REPO_ROOT, file.filename)).sort();
    expect(names).toContain('clients/cli/src/gql/persisted-documents.json');
    for (const file of files) {
      const committed = await readFile(file.filename, 'utf8').catch(() => '(missing)');
      expect(committed, `${relative(REPO_ROOT, file.filename)} is stale: run npm run codegen`).toBe(file.content);
    }
  });
});
