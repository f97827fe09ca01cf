// GraphQL Code Generator: typed documents (client preset) and a persisted-documents manifest for
// every client in clients/, from the composed public schema. Run with `npm run codegen`.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodegenConfig } from '@graphql-codegen/cli';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/** Every clients/<name> with a src/ directory; each gets its own src/gql/. */
export function clientNames(root = ROOT): string[] {
  const dir = join(root, 'clients');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'src')))
    .map((entry) => entry.name)
    .sort();
}

/** Absolute paths, so the output is the same from any working directory (the drift test relies on it). */
export function codegenConfig(root = ROOT, clients = clientNames(root)): CodegenConfig {
  const generates: CodegenConfig['generates'] = {};
  for (const name of clients) {
    const src = join(root, 'clients', name, 'src');
    generates[join(src, 'gql') + '/'] = {
      documents: [join(src, '**/*.{ts,graphql}'), '!' + join(src, 'gql/**')],
      preset: 'client',
      presetConfig: {
        // A CLI reads whole results; masking fragments would only add unwrapping.
        fragmentMasking: false,
        // Writes src/gql/persisted-documents.json ({ sha256: document }) and puts each hash in the
        // document's __meta__, where a client finds what to send as extensions.persistedQuery.
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    };
  }
  return {
    schema: join(root, 'schema', 'api.graphql'),
    ignoreNoDocuments: true,
    generates,
  };
}

export default codegenConfig();
