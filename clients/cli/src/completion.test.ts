import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands/index';
import { completionScript } from './completion';

/** What bash completes for the words typed so far (the last one being completed). */
function complete(...words: string[]): string[] {
  const script = `${completionScript('bash', COMMANDS)}
COMP_WORDS=(citadel ${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length}
_citadel
printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('completes commands, subcommands, options and option values', () => {
    expect(complete('wo')).toEqual(['workspace']);
    expect(complete('todo', '')).toEqual(['create', 'list', 'complete', 'assign', 'unassign']);
    expect(complete('todo', 'list', 'w1', '--st')).toEqual(['--status']);
    expect(complete('todo', 'list', 'w1', '--status', '')).toEqual(['OPEN', 'DONE']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
    expect(complete('--url', 'http://gw', 'todo', 'c')).toEqual(['create', 'complete']);
  });

  it('offers nothing for a value it cannot know (a URL)', () => {
    expect(complete('--url', '')).toEqual([]);
  });
});

describe('zsh completion', () => {
  it('is the bash function loaded through bashcompinit', () => {
    const script = completionScript('zsh', COMMANDS);
    expect(script.startsWith('#compdef citadel\n')).toBe(true);
    expect(script).toContain('bashcompinit');
    expect(script).toContain('complete -F _citadel citadel');
  });

  it('refuses other shells', () => {
    expect(() => completionScript('fish', COMMANDS)).toThrow('no completion for "fish"; use bash or zsh');
  });
});
