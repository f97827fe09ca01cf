// The planner's copy of the supergraph drops `for: SECURITY` (which @apollo/gateway refuses) and nothing else.
import { describe, expect, it } from 'vitest';
import { forPlanner } from './supergraph';

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
