// Composes every subgraph's SDL into the supergraph and the client-facing API schema.
import 'reflect-metadata';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { SCHEMA_DIR } from '@citadel/kit/paths';
import { parse, printSchema } from 'graphql';
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
  return files;
}
