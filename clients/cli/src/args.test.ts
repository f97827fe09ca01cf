import { describe, expect, it } from 'vitest';
import { parseCommandLine, requireArgs, type CommandSpec } from './args';
import { UsageError } from './errors';

const commands: CommandSpec[] = [
  { path: ['me'], args: [], summary: '', options: {} },
  { path: ['todo', 'create'], args: ['workspaceId', 'title'], summary: '', options: { due: { type: 'string', description: '' } } },
  { path: ['todo', 'list'], args: ['workspaceId'], summary: '', options: { status: { type: 'string', description: '', choices: ['OPEN', 'DONE'] } } },
  { path: ['help'], args: ['command?'], summary: '', options: {} },
];

describe('parseCommandLine', () => {
  it('finds the longest command and keeps the rest as arguments, options anywhere', () => {
    const parsed = parseCommandLine(['--json', 'todo', 'create', 'w1', '--due=2030-01-01', 'Ship it', '--url', 'http://gw:4000'], commands);
    expect(parsed.command?.path).toEqual(['todo', 'create']);
    expect(parsed.args).toEqual(['w1', 'Ship it']);
    expect(parsed.options).toEqual({ json: true, due: '2030-01-01', url: 'http://gw:4000' });
  });

  it('takes everything after -- as arguments, even when it looks like an option', () => {
    const parsed = parseCommandLine(['todo', 'create', 'w1', '--', '--not-an-option'], commands);
    expect(parsed.args).toEqual(['w1', '--not-an-option']);
  });

  it('reads -h as --help', () => {
    expect(parseCommandLine(['me', '-h'], commands).options).toEqual({ help: true });
  });

  it('refuses unknown options, options of another command, missing values and values out of choice', () => {
    expect(() => parseCommandLine(['me', '--bogus'], commands)).toThrow(new UsageError('unknown option --bogus'));
    expect(() => parseCommandLine(['me', '--due', 'x'], commands)).toThrow('`citadel me` has no option --due');
    expect(() => parseCommandLine(['todo', 'create', 'w', 't', '--due'], commands)).toThrow('option --due needs a value');
    expect(() => parseCommandLine(['todo', 'list', 'w', '--status', 'LATE'], commands)).toThrow('--status must be one of OPEN, DONE (got "LATE")');
    expect(() => parseCommandLine(['me', '--json=yes'], commands)).toThrow('option --json takes no value');
  });

  it('leaves unknown words unmatched, for help and error messages', () => {
    const parsed = parseCommandLine(['todo', 'frobnicate'], commands);
    expect(parsed.command).toBeUndefined();
    expect(parsed.words).toEqual(['todo', 'frobnicate']);
  });

  it('refuses specs that give one option name two types', () => {
    const clash: CommandSpec[] = [
      { path: ['a'], args: [], summary: '', options: { x: { type: 'string', description: '' } } },
      { path: ['b'], args: [], summary: '', options: { x: { type: 'boolean', description: '' } } },
    ];
    expect(() => parseCommandLine(['a'], clash)).toThrow('option --x is a string in one command and a boolean in another');
  });
});

describe('requireArgs', () => {
  const create = commands[1]!;
  const help = commands[3]!;

  it('names the arguments', () => {
    expect(requireArgs(create, ['w1', 'Ship it'])).toEqual({ workspaceId: 'w1', title: 'Ship it' });
    expect(requireArgs(help, [])).toEqual({ command: undefined });
  });

  it('says which arguments are missing or extra', () => {
    expect(() => requireArgs(create, ['w1'])).toThrow('citadel todo create: missing <title>');
    expect(() => requireArgs(create, ['w1', 't', 'extra'])).toThrow('citadel todo create: unexpected argument "extra"');
  });
});
