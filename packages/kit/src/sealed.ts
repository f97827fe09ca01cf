// AES-256-GCM for secrets at rest (TOTP secrets): random 96-bit IV, 128-bit tag, optional
// associated data binding the ciphertext to its row (a copied ciphertext does not decrypt elsewhere).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export function seal(key: Buffer, plaintext: Buffer, associatedData = ''): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(associatedData));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

export function unseal(key: Buffer, sealed: string, associatedData = ''): Buffer {
  if (!sealed.startsWith('v1.')) throw new Error('Unknown sealed format');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  if (raw.length < 28) throw new Error('Sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}
