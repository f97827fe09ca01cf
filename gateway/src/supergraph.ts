// Loads the composed supergraph from its file and hands @apollo/gateway each new version.
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '@citadel/kit/logger';

const SECURITY_SPECS = /(@link\(\s*url:\s*"https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes|policy)\/v[\d.]+"[^)]*?),?\s*for:\s*SECURITY/g;

/**
 * @apollo/gateway refuses a supergraph linking a `for: SECURITY` feature; the gateway enforces
 * those directives itself before planning, so the copy it gives the planner drops the purpose.
 */
export function forPlanner(supergraphSdl: string): string {
  return supergraphSdl.replace(SECURITY_SPECS, '$1');
}

/** A `supergraphSdl` hook: the file now, and an update whenever it changes on disk. */
export function supergraphFromFile(path: string, logger: Logger): SupergraphSdlHook {
  return async ({ update }) => {
    const initial = forPlanner(await readFile(path, 'utf8'));
    let current = initial;
    let timer: NodeJS.Timeout | undefined;
    const reload = async () => {
      try {
        const next = forPlanner(await readFile(path, 'utf8'));
        if (next === current || next.trim() === '') return;
        update(next);
        current = next;
        logger.info({ path }, 'supergraph reloaded');
      } catch (error) {
        // A broken file keeps the last good schema serving.
        logger.error({ err: error, path }, 'supergraph reload failed; still serving the previous one');
      }
    };
    const watcher = watch(path, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 100);
    });
    return {
      supergraphSdl: initial,
      cleanup: async () => {
        clearTimeout(timer);
        watcher.close();
      },
    };
  };
}
