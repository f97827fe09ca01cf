// Ed25519 signing keys: from the environment in production, generated into a folder in development.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
  jwks: { keys: JWK[] };
}

export interface LoadKeyOptions {
  /** Key name, also the file name under `dir`: `<name>.ed25519.pem`. */
  name: string;
  /** PKCS#8 PEM from the environment; wins over the folder when set. */
  pem?: string | undefined;
  /** Folder holding development keys. */
  dir: string;
  /** Create the key file when missing (development only). */
  generate: boolean;
}

export async function loadSigningKey(options: LoadKeyOptions): Promise<SigningKey> {
  const file = join(options.dir, `${options.name}.ed25519.pem`);
  let pem = options.pem?.replace(/\\n/g, '\n');
  if (!pem && existsSync(file)) pem = readFileSync(file, 'utf8');
  if (!pem) {
    if (!options.generate) {
      throw new Error(`No signing key for ${options.name}: set its *_PRIVATE_KEY variable or create ${file}`);
    }
    pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  }
  return signingKeyFromPem(pem);
}

export async function signingKeyFromPem(pem: string): Promise<SigningKey> {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('Signing keys must be Ed25519');
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicJwk, jwks: { keys: [publicJwk] } };
}

/** A new Ed25519 key held only in memory (tests, and keys that need not survive a restart). */
export function generateSigningKey(): Promise<SigningKey> {
  return signingKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}
