import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialsStore, type StoredSession } from './credentials';
import { configDirFrom, graphqlEndpoint } from './env';

const session = (n: number): StoredSession => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresAt: '2030-01-01T00:00:00.000Z',
  user: { id: `u${n}`, email: `u${n}@example.com`, name: `User ${n}` },
});

const fresh = () => join(mkdtempSync(join(tmpdir(), 'citadel-cli-unit-')), 'citadel');

describe('CredentialsStore', () => {
  it('creates the folder 0700 and the file 0600, whatever the umask allows', () => {
    const dir = fresh();
    const previous = process.umask(0o000);
    try {
      new CredentialsStore(dir).set('http://gw/graphql', session(1));
    } finally {
      process.umask(previous);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('tightens a folder and a file that were too open', () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'credentials.json'), '{"version":1,"sessions":{}}', { mode: 0o644 });
    chmodSync(join(dir, 'credentials.json'), 0o644);
    new CredentialsStore(dir).set('http://gw/graphql', session(1));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('keeps one session per gateway, replaces it, and removes the file with the last one', () => {
    const dir = fresh();
    const store = new CredentialsStore(dir);
    store.set('http://a/graphql', session(1));
    store.set('http://b/graphql', session(2));
    store.set('http://a/graphql', session(3));
    expect(store.get('http://a/graphql')).toEqual(session(3));
    expect(new CredentialsStore(dir).get('http://b/graphql')).toEqual(session(2));
    store.delete('http://a/graphql');
    expect(store.get('http://a/graphql')).toBeUndefined();
    expect(JSON.parse(readFileSync(store.path, 'utf8')).sessions).toEqual({ 'http://b/graphql': session(2) });
    store.delete('http://b/graphql');
    expect(existsSync(store.path)).toBe(false);
  });

  it('treats a damaged file as holding no session', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'credentials.json'), '{not json');
    expect(new CredentialsStore(dir).get('http://gw/graphql')).toBeUndefined();
  });
});

describe('configDirFrom', () => {
  it('prefers CITADEL_CONFIG_DIR, then XDG_CONFIG_HOME/citadel, then ~/.config/citadel', () => {
    expect(configDirFrom({ CITADEL_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/x' }, '/home/ada')).toBe('/c');
    expect(configDirFrom({ XDG_CONFIG_HOME: '/x' }, '/home/ada')).toBe('/x/citadel');
    expect(configDirFrom({}, '/home/ada')).toBe('/home/ada/.config/citadel');
  });
});

describe('graphqlEndpoint', () => {
  it('adds /graphql to a gateway URL and keeps one that has it', () => {
    expect(graphqlEndpoint('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000/graphql');
    expect(graphqlEndpoint('http://127.0.0.1:4000/')).toBe('http://127.0.0.1:4000/graphql');
    expect(graphqlEndpoint('https://api.example.com/citadel/graphql/')).toBe('https://api.example.com/citadel/graphql');
  });

  it('returns nothing for what is not an http(s) URL', () => {
    expect(graphqlEndpoint('ftp://x')).toBe('');
    expect(graphqlEndpoint('localhost:4000')).toBe('');
  });
});
