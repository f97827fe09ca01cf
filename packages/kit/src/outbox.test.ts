// Events as producers build them: the action's shape is checked where it is written, secrets are
// redacted, and the actor comes from the request (or is the service outside one).
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox';
import { runInRequest } from './request-context';

const outbox = new Outbox('workspaces');

describe('Outbox.event', () => {
  it('refuses an action audit would refuse, naming it, instead of parking the event later', () => {
    expect(() => outbox.event({ action: 'workspaces.member.role_changed' })).toThrow(/role_changed/);
    expect(() => outbox.event({ action: 'identity.user.disabled' })).toThrow(/workspaces\./);
    expect(outbox.event({ action: 'workspaces.member.role-changed' }).action).toBe('workspaces.member.role-changed');
  });

  it('takes the actor and client from the request, and is the service itself outside one', () => {
    const inside = runInRequest(
      { caller: { userId: 'u-1', sessionId: 's-1' }, client: { ip: '203.0.113.1', userAgent: 'ua' }, requestId: 'r-1', operationName: 'Op' },
      () => outbox.event({ action: 'workspaces.todo.created' }),
    );
    expect(inside).toMatchObject({ actor: { type: 'user', id: 'u-1', sessionId: 's-1' }, ip: '203.0.113.1', requestId: 'r-1', operationName: 'Op' });
    expect(outbox.event({ action: 'workspaces.todo.created' }).actor).toEqual({ type: 'service', id: 'workspaces', sessionId: null });
  });

  it('redacts secret-looking keys in changes, at any depth', () => {
    const event = outbox.event({ action: 'workspaces.todo.updated', changes: { after: { title: 't', nested: { password: 'p', apiToken: 'x' } } } });
    expect(event.changes).toEqual({ before: null, after: { title: 't', nested: { password: '[REDACTED]', apiToken: '[REDACTED]' } } });
  });
});
