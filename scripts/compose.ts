// `npm run compose`: writes schema/<subgraph>.graphql, supergraph.graphql, api.graphql and access-map.json.
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { REPO_ROOT } from '@citadel/kit/paths';
import { composeSchemaFiles } from './composition';

const files = await composeSchemaFiles();
for (const [path, text] of files) {
  await writeFile(path, text);
  process.stdout.write(`wrote ${relative(REPO_ROOT, path)}\n`);
}
