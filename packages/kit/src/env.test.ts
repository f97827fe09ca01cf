// Env parsing reports every bad variable at once, so one restart fixes them all.
import { describe, expect, it } from 'vitest';
import { EnvError, parseEnvOrThrow, port, postgresUrl, z } from './env';

describe('parseEnvOrThrow', () => {
  const shape = { PORT: port(4000), DATABASE_URL: postgresUrl, NAME: z.string().default('x') };

  it('applies defaults and coerces', () => {
    expect(parseEnvOrThrow(shape, { PORT: '4100', DATABASE_URL: 'postgres://h/db' })).toEqual({
      PORT: 4100,
      DATABASE_URL: 'postgres://h/db',
      NAME: 'x',
    });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseEnvOrThrow(shape, { PORT: '70000', DATABASE_URL: 'mysql://h/db' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    const problems = (error as EnvError).problems.join('\n');
    expect(problems).toContain('PORT');
    expect(problems).toContain('DATABASE_URL');
  });

  it('says when a required variable is not set', () => {
    expect(() => parseEnvOrThrow(shape, {})).toThrow(/DATABASE_URL.*not set/);
  });
});
