import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { OUTBOX_MANAGE } from '@citadel/kit/outbox-admin';
import { AUDIT_PERMISSIONS } from './audit.permissions';

describe('audit permissions', () => {
  it('declares the codes its fields and the producers’ dead-event fields require', () => {
    expect(Object.keys(AUDIT_PERMISSIONS.permissions).sort()).toEqual(['audit.chain.verify', 'audit.event.read', OUTBOX_MANAGE].sort());
  });
});
