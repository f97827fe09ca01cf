// Threat: development keys (in every developer's .data/) signing production tokens.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecret, loadSigningKey } from './keys';

describe('key loading', () => {
  it('generates a development key once and reads the same one back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citadel-keys-'));
    const first = await loadSigningKey({ name: 'svc', dir, generate: true });
    const again = await loadSigningKey({ name: 'svc', dir, generate: true });
    expect(again.kid).toBe(first.kid);
    expect(loadSecret({ name: 's', dir, generate: true })).toEqual(loadSecret({ name: 's', dir, generate: true }));
  });

  it('in production ignores key files and demands the environment variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citadel-keys-'));
    await loadSigningKey({ name: 'svc', dir, generate: true });
    loadSecret({ name: 's', dir, generate: true });
    await expect(loadSigningKey({ name: 'svc', dir, generate: false })).rejects.toThrow(/SVC_PRIVATE_KEY/);
    expect(() => loadSecret({ name: 's', dir, generate: false })).toThrow(/No secret/);
  });
});
