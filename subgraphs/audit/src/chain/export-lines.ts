// NDJSON lines of an export (retention files and auditExport): one JSON object per line with a
// `kind`. An event line is its canonical fields plus prevHash and hash, so anyone can re-hash it.
import { canonicalJson, type StoredEvent } from './canonical';
import type { Checkpoint } from './checkpoint';

export function eventLine(event: StoredEvent): string {
  return `${canonicalJson({ kind: 'event', ...event })}\n`;
}

export function checkpointLine(checkpoint: Checkpoint): string {
  return `${canonicalJson({ kind: 'checkpoint', ...checkpoint })}\n`;
}
