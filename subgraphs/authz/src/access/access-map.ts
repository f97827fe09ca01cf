// The map of protected schema coordinates `npm run compose` writes, and whether a caller meets each.
import { readFile, stat } from 'node:fs/promises';
import type { Caller } from '@citadel/kit/auth';

export interface AccessRequirement {
  coordinate: string;
  kind: 'type' | 'field';
  authenticated: boolean;
  /** Alternatives (OR) of permission codes all required (AND); null when none. */
  scopes: string[][] | null;
  policies: string[][] | null;
}

export interface AccessDecision extends AccessRequirement {
  allowed: boolean;
  /** Why not: "authenticated", or the codes/policies of the closest alternative still missing. */
  missing: string[];
}

export class AccessMap {
  private cached: { mtimeMs: number; entries: AccessRequirement[] } | undefined;

  constructor(private readonly path: string) {}

  /** Re-read when the file changes, so a new composition shows without a restart. */
  async entries(): Promise<AccessRequirement[]> {
    const { mtimeMs } = await stat(this.path);
    if (this.cached?.mtimeMs !== mtimeMs) {
      const entries = JSON.parse(await readFile(this.path, 'utf8')) as AccessRequirement[];
      this.cached = { mtimeMs, entries };
    }
    return this.cached.entries;
  }

  async decide(caller: Caller): Promise<AccessDecision[]> {
    return (await this.entries()).map((entry) => decide(entry, caller));
  }
}

export function decide(entry: AccessRequirement, caller: Caller): AccessDecision {
  const missing: string[] = [];
  if (entry.authenticated && !caller.userId) missing.push('authenticated');
  missing.push(...closestMissing(entry.scopes, new Set(caller.permissions)));
  missing.push(...closestMissing(entry.policies, new Set(caller.policies)).map((p) => `policy:${p}`));
  return { ...entry, allowed: missing.length === 0, missing };
}

/** Nothing when one alternative is fully held; otherwise what the alternative nearest to it lacks. */
function closestMissing(alternatives: string[][] | null, held: Set<string>): string[] {
  if (!alternatives || alternatives.length === 0) return [];
  let best: string[] | undefined;
  for (const alternative of alternatives) {
    const lacking = alternative.filter((item) => !held.has(item));
    if (lacking.length === 0) return [];
    if (!best || lacking.length < best.length) best = lacking;
  }
  return best ?? [];
}
