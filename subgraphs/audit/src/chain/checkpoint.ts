// Signed checkpoints: audit's Ed25519 key vouches that the event at `seq` had `hash`, so editing
// the chain and recomputing every hash after the edit is still caught.
import { createPublicKey, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKey } from '@citadel/kit/keys';
import { canonicalJson } from './canonical';

export interface Checkpoint {
  /** The last event the checkpoint covers. */
  seq: number;
  /** That event's hash. */
  hash: string;
  /** Chain time form (see chainTime). */
  signedAt: string;
  keyId: string;
  /** Ed25519 signature of `checkpointPayload`, base64url. */
  signature: string;
}

export const CHECKPOINT_TYPE = 'citadel.audit.checkpoint.v1';

/** The exact bytes signed: the canonical JSON of the checkpoint's fields and a type tag. */
export function checkpointPayload(checkpoint: Omit<Checkpoint, 'signature'>): string {
  return canonicalJson({
    type: CHECKPOINT_TYPE,
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    signedAt: checkpoint.signedAt,
    keyId: checkpoint.keyId,
  });
}

/** Signs with audit's key and checks signatures with it and any retired audit keys. */
export class CheckpointSigner {
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(
    private readonly key: SigningKey,
    /** Public JWKs of keys that signed earlier checkpoints. */
    previous: readonly JWK[] = [],
  ) {
    this.publicKeys.set(key.kid, createPublicKey(key.privateKey));
    for (const jwk of previous) {
      if (!jwk.kid) throw new Error('A previous audit key has no "kid"');
      this.publicKeys.set(jwk.kid, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
    }
  }

  /** Every key a checkpoint may be signed with, for /.well-known/jwks.json. */
  get jwks(): { keys: JWK[] } {
    return { keys: [...this.publicKeys].map(([kid, key]) => ({ ...(key.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA', use: 'sig' })) };
  }

  sign(seq: number, hash: string, signedAt: string): Checkpoint {
    const unsigned = { seq, hash, signedAt, keyId: this.key.kid };
    const signature = sign(null, Buffer.from(checkpointPayload(unsigned), 'utf8'), this.key.privateKey).toString('base64url');
    return { ...unsigned, signature };
  }

  /** True when the signature is a known audit key's over exactly these fields. */
  verify(checkpoint: Checkpoint): boolean {
    const key = this.publicKeys.get(checkpoint.keyId);
    if (!key || !/^[A-Za-z0-9_-]+$/.test(checkpoint.signature)) return false;
    const { signature, ...unsigned } = checkpoint;
    try {
      return verify(null, Buffer.from(checkpointPayload(unsigned), 'utf8'), key, Buffer.from(signature, 'base64url'));
    } catch {
      return false;
    }
  }
}
