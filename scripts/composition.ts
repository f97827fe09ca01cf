// Composes every subgraph's SDL into the supergraph, the client-facing API schema and the access map.
import 'reflect-metadata';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { SCHEMA_DIR } from '@citadel/kit/paths';
import { buildASTSchema, parse, printSchema } from 'graphql';
import { protectedCoordinates } from '@citadel/kit/authorization/index';
import { SUBGRAPHS } from './subgraphs';

/** Every file under schema/ that composition owns, by absolute path, with its fresh contents. */
export async function composeSchemaFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const services = [];
  for (const subgraph of SUBGRAPHS) {
    const sdl = await subgraph.printSdl();
    files.set(join(SCHEMA_DIR, `${subgraph.name}.graphql`), `${sdl.trim()}\n`);
    services.push({ name: subgraph.name, url: subgraph.routingUrl, typeDefs: parse(sdl) });
  }
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  files.set(join(SCHEMA_DIR, 'supergraph.graphql'), `${result.supergraphSdl.trim()}\n`);
  const api = result.schema.toAPISchema().toGraphQLJSSchema();
  files.set(join(SCHEMA_DIR, 'api.graphql'), `${printSchema(api).trim()}\n`);
  // What each protected coordinate requires: authz serves it as `accessMap`.
  const supergraph = buildASTSchema(parse(result.supergraphSdl), { assumeValidSDL: true });
  files.set(join(SCHEMA_DIR, 'access-map.json'), `${JSON.stringify(protectedCoordinates(supergraph), null, 2)}\n`);
  return files;
}
