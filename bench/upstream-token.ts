// What lets a gateway without Citadel's auth reach Citadel's subgraphs as the bench's caller: the
// internal token Citadel's gateway would send, minted with the gateway's key for each subgraph and
// minted again before it expires (InternalTokenMinter reuses a token until 15 s before its end).
// The callers (user, session, permissions, policies) come from the harness in BENCH_CALLERS, a list:
// a request naming one in its `x-bench-caller` header (its index) acts as it, others as the first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InternalTokenMinter, type Caller } from '@citadel/kit/auth';
import { signingKeyFromPem } from '@citadel/kit/keys';

export const CALLERS_VARIABLE = 'BENCH_CALLERS';
export const CALLER_HEADER = 'x-bench-caller';
export const KEYS_VARIABLE = 'BENCH_KEYS_DIR';

/** The token for a subgraph fetch, acting as the caller the incoming request's `x-bench-caller` names. */
export async function upstreamTokens(): Promise<(subgraph: string, callerHeader: string | null | undefined) => Promise<string>> {
  const callers = JSON.parse(process.env[CALLERS_VARIABLE] ?? '[]') as Caller[];
  const keys = process.env[KEYS_VARIABLE];
  if (callers.length === 0 || !keys) throw new Error(`${CALLERS_VARIABLE} and ${KEYS_VARIABLE} must be set`);
  const minter = new InternalTokenMinter(await signingKeyFromPem(readFileSync(join(keys, 'gateway.ed25519.pem'), 'utf8')));
  return (subgraph, callerHeader) => minter.mint(callers[Number(callerHeader ?? 0)] ?? callers[0]!, subgraph);
}
