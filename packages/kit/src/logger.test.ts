// Threat: secrets in logs. Whatever a request logs, passwords, tokens, codes and secrets are redacted.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

describe('createLogger', () => {
  it('redacts secrets at any of the usual depths, keeps error codes', () => {
    const lines: string[] = [];
    const capture = createLogger('test', 'info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    capture.info({
      password: 'p1',
      variables: { input: { newPassword: 'p2', token: 't1', code: '123456' }, refreshToken: 't2' },
      err: { code: 'ECONNREFUSED' },
      secret: 's1',
    });
    const out = lines.join('');
    for (const secret of ['p1', 'p2', 't1', 't2', '123456', 's1']) expect(out).not.toContain(`"${secret}"`);
    expect(out).toContain('ECONNREFUSED');
  });

  it('writes each line with its own fields when no span is active (regression: the trace mixin shared one object)', () => {
    const lines: string[] = [];
    const capture = createLogger('test', 'info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    capture.info({ dataDir: '/a' }, 'first');
    capture.info('second');
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ dataDir: '/a', msg: 'first' });
    expect(second).not.toHaveProperty('dataDir');
    expect(second).not.toHaveProperty('trace_id');
  });
});
