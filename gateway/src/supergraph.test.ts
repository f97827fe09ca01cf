// The supergraph file: reloaded on change, and the planner's copy of the supergraph drops `for: SECURITY` (which @apollo/gateway refuses) and nothing else.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { forPlanner, supergraphFromFile } from './supergraph';

describe('forPlanner', () => {
  it('removes for: SECURITY from the authorization specs only', () => {
    const sdl = `schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)
{ query: Query }`;
    const out = forPlanner(sdl);
    expect(out).not.toContain('SECURITY');
    expect(out).toContain('@link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)');
    expect(out).toContain('@link(url: "https://specs.apollo.dev/authenticated/v0.1")');
  });
});

describe('supergraphFromFile', () => {
  it('serves the file, hands the gateway each change, and keeps the last good one when the file is emptied', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'citadel-supergraph-')), 'supergraph.graphql');
    writeFileSync(path, 'type Query { a: Int }');
    const updates: string[] = [];
    const hook = supergraphFromFile(path, pino({ level: 'silent' }));
    const loaded = await hook({ update: (sdl) => updates.push(sdl), healthCheck: async () => undefined, getDataSource: () => undefined as never });
    try {
      expect(loaded.supergraphSdl).toBe('type Query { a: Int }');
      writeFileSync(path, 'type Query { b: Int }');
      await expect.poll(() => updates, { timeout: 5_000 }).toEqual(['type Query { b: Int }']);
      writeFileSync(path, '');
      await new Promise((r) => setTimeout(r, 400));
      expect(updates).toEqual(['type Query { b: Int }']);
    } finally {
      await loaded.cleanup?.();
    }
  });
});
