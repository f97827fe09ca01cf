// Threat: a client forging X-Forwarded-For to dodge per-IP limits, or every client behind a proxy
// sharing one limit.
import { describe, expect, it } from 'vitest';
import { clientIp } from './context';

describe('clientIp', () => {
  it('uses the peer address when no proxy is trusted, whatever the header says', () => {
    expect(clientIp('198.51.100.1', '203.0.113.9', 0)).toBe('198.51.100.1');
  });

  it('behind one proxy takes the last X-Forwarded-For entry, ignoring what the client prepended', () => {
    expect(clientIp('10.0.0.2', '1.2.3.4, 203.0.113.9', 1)).toBe('203.0.113.9');
  });

  it('behind two proxies takes the second entry from the right', () => {
    expect(clientIp('10.0.0.3', 'forged, 203.0.113.9, 10.0.0.2', 2)).toBe('203.0.113.9');
  });

  it('falls back to the peer when there is no header', () => {
    expect(clientIp('10.0.0.2', undefined, 1)).toBe('10.0.0.2');
  });
});
