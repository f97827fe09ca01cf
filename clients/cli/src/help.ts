// Help text, built from the command specs so it cannot drift from what the parser accepts.
import { GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './args';
import { EXIT } from './errors';

export function usageLine(command: CommandSpec): string {
  const args = command.args.map((arg) => (arg.endsWith('?') ? `[${arg.slice(0, -1)}]` : `<${arg}>`));
  return ['citadel', ...command.path, ...args, ...(Object.keys(command.options).length ? ['[options]'] : [])].join(' ');
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${name === 'help' ? '-h, ' : ''}--${name}${spec.type === 'string' ? ` <${spec.valueName ?? 'value'}>` : ''}`;
    const choices = spec.choices ? ` (${spec.choices.join('|')})` : '';
    return [flag, spec.description + choices] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

export function commandHelp(command: CommandSpec): string {
  const lines = [`Usage: ${usageLine(command)}`, '', command.summary, ''];
  if (Object.keys(command.options).length) lines.push('Options:', ...optionLines(command.options), '');
  lines.push('Global options:', ...optionLines(GLOBAL_OPTIONS), '');
  return lines.join('\n');
}

export function generalHelp(commands: readonly CommandSpec[]): string {
  const rows = commands.map((command) => [usageLine(command).replace(/^citadel /, '').replace(/ \[options\]$/, ''), command.summary] as const);
  const width = Math.max(...rows.map(([usage]) => usage.length));
  return [
    'citadel: the Citadel command-line client',
    '',
    'Usage: citadel <command> [arguments] [options]',
    '',
    'Commands:',
    ...rows.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Environment: CITADEL_URL (gateway), CITADEL_CONFIG_DIR (where credentials.json is kept).',
    `Exit codes: ${Object.entries(EXIT)
      .map(([name, code]) => `${code} ${name.toLowerCase().replace(/_/g, ' ')}`)
      .join(', ')}.`,
    'Run `citadel help <command>` (or `citadel <command> --help`) for its options.',
    '',
  ].join('\n');
}
