// Ed25519 signing keys: from the environment in production, generated into a folder in development.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
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
  /** Development: read the key file, creating it when missing. Production (false): environment only. */
  generate: boolean;
}

export async function loadSigningKey(options: LoadKeyOptions): Promise<SigningKey> {
  const file = join(options.dir, `${options.name}.ed25519.pem`);
  let pem = options.pem?.replace(/\\n/g, '\n');
  // Production (generate: false) takes keys from the environment only: a key file that came along
  // from a development checkout must never sign real tokens.
  if (!pem && options.generate && existsSync(file)) pem = readFileSync(file, 'utf8');
  if (!pem) {
    if (!options.generate) {
      throw new Error(`No signing key for ${options.name}: set ${options.name.toUpperCase()}_PRIVATE_KEY (Ed25519 PKCS#8 PEM)`);
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

export interface LoadSecretOptions {
  /** File name under `dir`: `<name>.key`, 32 random bytes, base64. */
  name: string;
  /** Base64 value from the environment; wins over the folder when set. */
  value?: string | undefined;
  dir: string;
  generate: boolean;
}

/** A 32-byte symmetric secret (HMAC or AES-256 key), same sourcing rules as signing keys. */
export function loadSecret(options: LoadSecretOptions): Buffer {
  const file = join(options.dir, `${options.name}.key`);
  let encoded = options.value;
  if (!encoded && options.generate && existsSync(file)) encoded = readFileSync(file, 'utf8').trim();
  if (!encoded) {
    if (!options.generate) throw new Error(`No secret for ${options.name}: set its variable (32 bytes, base64)`);
    encoded = randomBytes(32).toString('base64');
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
  }
  const secret = Buffer.from(encoded, 'base64');
  if (secret.length !== 32) throw new Error(`Secret ${options.name} must be 32 bytes, base64-encoded`);
  return secret;
}
