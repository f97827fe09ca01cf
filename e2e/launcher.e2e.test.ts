// `npm start` as a user meets it: starts on embedded PostgreSQL, Ctrl-C leaves nothing running,
// a second start keeps the data, a taken port is named with the setting that moves it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '@citadel/kit/testing/ports';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import WebSocket from 'ws';
import { launch } from './launcher';

/** A process still running (a zombie waiting for its parent to reap it has already stopped). */
const running = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
  } catch {
    return undefined;
  }
};

const childPids = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('the launcher', () => {
  it('stops every process on Ctrl-C, and a second start reuses the data', async () => {
    const first = await launch();
    const pgPid = Number(readFileSync(join(first.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const pids = [first.process.pid!, pgPid, ...childPids(first.process.pid!)];
    expect(pids.length).toBeGreaterThanOrEqual(4); // launcher, postgres, identity, gateway
    const gql = `${first.gatewayUrl}/graphql`;
    const input = { email: 'keeps@example.com', password: 'survives a restart', name: 'K' };
    const registered = await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: input } });
    expect(registered.body.errors).toBeUndefined();

    // An open WebSocket must not hold the gateway's shutdown up.
    const socket = new WebSocket(`${first.gatewayUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

    expect(await first.stop()).toBe(0);
    expect(first.output()).not.toContain('did not stop within 10 s');
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.map(running).filter(Boolean)).toEqual([]);
    expect(existsSync(join(first.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = await launch({ dataDir: first.dataDir });
    try {
      const login = await graphqlRequest(`${second.gatewayUrl}/graphql`, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
        variables: { i: { email: input.email, password: input.password } },
      });
      expect(login.body.errors).toBeUndefined();
      expect(second.output()).toContain('migrations up to date');
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('names the port in use and the setting that changes it', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const run = await launch({ env: { GATEWAY_PORT: String(port) }, expectFailure: true });
      expect(await run.stop()).toBe(1);
      expect(run.output()).toContain(`Port ${port} is already in use`);
      expect(run.output()).toContain('GATEWAY_PORT');
      expect(run.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      blocker.close();
    }
  });
});
