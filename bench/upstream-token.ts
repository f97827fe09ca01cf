// What lets a gateway without Citadel's auth reach Citadel's subgraphs as the bench's caller: the
// internal token Citadel's gateway would send, minted with the gateway's key for each subgraph and
// minted again before it expires (InternalTokenMinter reuses a token until 15 s before its end).
// The caller (user, session, permissions, policies) comes from the harness in BENCH_CALLER.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InternalTokenMinter, type Caller } from '@citadel/kit/auth';
import { signingKeyFromPem } from '@citadel/kit/keys';

export const CALLER_VARIABLE = 'BENCH_CALLER';
export const KEYS_VARIABLE = 'BENCH_KEYS_DIR';
/** `{ "<subgraph>": "<url>" }`: which subgraph a fetch goes to, by its URL. */
export const SUBGRAPHS_VARIABLE = 'BENCH_SUBGRAPH_URLS';

export async function upstreamTokens(): Promise<(subgraph: string) => Promise<string>> {
  const caller = JSON.parse(process.env[CALLER_VARIABLE] ?? 'null') as Caller | null;
  const keys = process.env[KEYS_VARIABLE];
  if (!caller || !keys) throw new Error(`${CALLER_VARIABLE} and ${KEYS_VARIABLE} must be set`);
  const minter = new InternalTokenMinter(await signingKeyFromPem(readFileSync(join(keys, 'gateway.ed25519.pem'), 'utf8')));
  return (subgraph) => minter.mint(caller, subgraph);
}

export function subgraphUrls(): Record<string, string> {
  return JSON.parse(process.env[SUBGRAPHS_VARIABLE] ?? '{}') as Record<string, string>;
}
