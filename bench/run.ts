// `npm run bench`: start-up time (cold and warm) and request latency through the real gateway.
// Bounded: a fixed number of sequential requests to 127.0.0.1 only.
import { rmSync } from 'node:fs';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, type Platform } from '../e2e/launcher';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 100);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 1000);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(2)} ms, p95 ${percentile(s, 95).toFixed(2)} ms, p99 ${percentile(s, 99).toFixed(2)} ms (n=${s.length})`;
};

async function timedLaunch(dataDir?: string): Promise<{ platform: Platform; seconds: number }> {
  const started = performance.now();
  const platform = await launch({ env: { LOG_LEVEL: 'warn', LOGIN_MAX_ATTEMPTS_PER_IP: '1000000' }, ...(dataDir ? { dataDir } : {}) });
  return { platform, seconds: (performance.now() - started) / 1000 };
}

const cold = await timedLaunch();
await cold.platform.stop();
const warm = await timedLaunch(cold.platform.dataDir);
const gql = `${warm.platform.gatewayUrl}/graphql`;
try {
  const input = { email: 'bench@example.com', password: 'a benchmark passphrase', name: 'Bench' };
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: input } });
  const login = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
  const vars = { variables: { i: { email: input.email, password: input.password } } };
  let token = '';
  const logins: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const t = performance.now();
    const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, login, vars);
    logins.push(performance.now() - t);
    token = res.body.data!.login.accessToken;
  }
  const mes: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    await graphqlRequest(gql, '{ me { id email } }', { token });
    mes.push(performance.now() - t);
  }
  console.log(`start, cold (initdb + migrations + keys): ${cold.seconds.toFixed(1)} s`);
  console.log(`start, warm (existing data):             ${warm.seconds.toFixed(1)} s`);
  console.log(`login through the gateway (argon2id):    ${summary(logins)}`);
  console.log(`me through the gateway (JWT verified):   ${summary(mes)}`);
} finally {
  await warm.platform.stop();
  rmSync(cold.platform.dataDir, { recursive: true, force: true });
}
