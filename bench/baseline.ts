// The measurements `npm run bench` had before issue 8, on a running platform: sequential login and
// `me` latency, wrong-password and reset timing for known vs unknown addresses (enumeration by
// timing), and identity's memory under a flood of parallel logins.
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import type { Platform } from '../e2e/launcher';
import { findProcess, memoryMib } from './load';

export interface BaselineFigures {
  login: number[];
  me: number[];
  wrongPassword: { known: number[]; unknown: number[] };
  reset: { known: number[]; unknown: number[] };
  flood: { logins: number; rssBeforeMib: number; peakRssMib: number; answers: Record<string, number> };
}

const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { id } }';

export async function measureBaseline(platform: Platform, sizes: { logins: number; queries: number; timingPairs: number; flood: number }): Promise<BaselineFigures> {
  const gql = `${platform.gatewayUrl}/graphql`;
  const tag = Date.now().toString(36);
  const input = { email: `baseline-${tag}@example.com`, password: 'a benchmark passphrase', name: 'Bench' };
  await graphqlRequest(gql, REGISTER, { variables: { i: input } });
  const vars = { variables: { i: { email: input.email, password: input.password } } };
  const timed = async (run: () => Promise<unknown>) => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  let token = '';
  const login: number[] = [];
  for (let i = 0; i < sizes.logins; i++) {
    login.push(await timed(async () => (token = (await graphqlRequest<{ login: { accessToken: string } }>(gql, LOGIN, vars)).body.data!.login.accessToken)));
  }
  const me: number[] = [];
  for (let i = 0; i < sizes.queries; i++) me.push(await timed(() => graphqlRequest(gql, '{ me { id email } }', { token })));

  // Known and unknown addresses alternate, so neither series inherits the other's after-work.
  const known: string[] = [];
  for (let i = 0; i < sizes.timingPairs; i++) {
    known.push(`timing${i}-${tag}@example.com`);
    await graphqlRequest(gql, REGISTER, { variables: { i: { email: known[i], password: 'timing passphrase', name: 'T' } } });
  }
  const pairs = async (query: string, variables: (e: string) => Record<string, unknown>) => {
    const samples = { known: [] as number[], unknown: [] as number[] };
    for (const e of known) {
      samples.known.push(await timed(() => graphqlRequest(gql, query, { variables: variables(e) })));
      samples.unknown.push(await timed(() => graphqlRequest(gql, query, { variables: variables(`nobody-${e}`) })));
    }
    return samples;
  };
  const wrongPassword = await pairs(LOGIN, (e) => ({ i: { email: e, password: 'not the passphrase' } }));
  const reset = await pairs('mutation($e: String!) { requestPasswordReset(email: $e) }', (e) => ({ e }));

  // Flood: parallel logins for distinct unknown accounts; identity's peak memory and the answers.
  const identity = findProcess(platform.process.pid!, 'subgraphs/identity');
  const rssBeforeMib = memoryMib(identity, 'VmRSS');
  const flood = await Promise.all(
    Array.from({ length: sizes.flood }, (_, i) => graphqlRequest(gql, LOGIN, { variables: { i: { email: `flood${i}-${tag}@example.com`, password: 'flood passphrase' } } })),
  );
  const answers: Record<string, number> = {};
  for (const r of flood) {
    const code = String(r.body.errors?.[0]?.extensions?.code ?? 'OK');
    answers[code] = (answers[code] ?? 0) + 1;
  }
  return { login, me, wrongPassword, reset, flood: { logins: sizes.flood, rssBeforeMib, peakRssMib: memoryMib(identity, 'VmHWM'), answers } };
}
