// Command-line parsing by hand: which command, its positional arguments and its options.
import { UsageError } from './errors';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in help as `--name <valueName>`. */
  valueName?: string;
  /** Allowed values (also offered by shell completion). */
  choices?: readonly string[];
}

export interface CommandSpec {
  /** Words naming the command: ['todo', 'create']. */
  path: readonly string[];
  /** Positional arguments, in order; a trailing `?` marks an optional one. */
  args: readonly string[];
  summary: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Values offered by completion for the first positional argument. */
  argChoices?: readonly string[];
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface ParsedCommandLine<C extends CommandSpec = CommandSpec> {
  command: C | undefined;
  /** Positional arguments after the command's words. */
  args: string[];
  options: OptionValues;
  /** Words given that name no command (for `help <words>` and error messages). */
  words: string[];
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: { type: 'string', valueName: 'url', description: 'gateway URL (default $CITADEL_URL or http://127.0.0.1:4000)' },
  json: { type: 'boolean', description: 'print JSON for scripts instead of tables' },
  help: { type: 'boolean', description: 'show help for the command' },
};

const SHORT: Readonly<Record<string, string>> = { h: 'help' };

/**
 * Reads `argv` (without node and the script) against `commands`. Options may come before or after
 * the command's words; `--name=value` and `--name value` both work; `--` ends options.
 */
export function parseCommandLine<C extends CommandSpec>(argv: readonly string[], commands: readonly C[]): ParsedCommandLine<C> {
  const known = allOptions(commands);
  const positionals: string[] = [];
  const given: { name: string; value: string | boolean }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith('--');
    const eq = token.indexOf('=');
    const rawName = long ? token.slice(2, eq === -1 ? undefined : eq) : token.slice(1);
    const name = long ? rawName : SHORT[rawName];
    const spec = name ? known.get(name) : undefined;
    if (!name || !spec) throw new UsageError(`unknown option ${long ? `--${rawName}` : token}`);
    if (spec.type === 'boolean') {
      if (long && eq !== -1) throw new UsageError(`option --${name} takes no value`);
      given.push({ name, value: true });
      continue;
    }
    let value: string | undefined;
    if (long && eq !== -1) value = token.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    given.push({ name, value });
  }

  const command = matchCommand(positionals, commands);
  const words = command ? positionals.slice(0, command.path.length) : positionals;
  const args = command ? positionals.slice(command.path.length) : [];
  const options: OptionValues = {};
  for (const { name, value } of given) {
    const spec = GLOBAL_OPTIONS[name] ?? command?.options[name];
    if (!spec && command) throw new UsageError(`\`citadel ${command.path.join(' ')}\` has no option --${name}`);
    if (spec?.choices && typeof value === 'string' && !spec.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got "${value}")`);
    }
    options[name] = value;
  }
  return { command, args, options, words };
}

/** Checks the number of positional arguments; returns them by name. */
export function requireArgs(command: CommandSpec, args: readonly string[]): Record<string, string | undefined> {
  const required = command.args.filter((a) => !a.endsWith('?')).length;
  const name = `citadel ${command.path.join(' ')}`;
  if (args.length < required) {
    const missing = command.args.slice(args.length).filter((a) => !a.endsWith('?'));
    throw new UsageError(`${name}: missing ${missing.map((a) => `<${a}>`).join(' ')}`);
  }
  if (args.length > command.args.length) throw new UsageError(`${name}: unexpected argument "${args[command.args.length]}"`);
  const named: Record<string, string | undefined> = {};
  command.args.forEach((arg, i) => (named[arg.replace(/\?$/, '')] = args[i]));
  return named;
}

/** The command whose words are the longest prefix of the positionals. */
function matchCommand<C extends CommandSpec>(positionals: readonly string[], commands: readonly C[]): C | undefined {
  let best: C | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => positionals[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best;
}

/** Every option name across commands; one name means one type everywhere, so values parse before the command is known. */
function allOptions(commands: readonly CommandSpec[]): Map<string, OptionSpec> {
  const all = new Map<string, OptionSpec>(Object.entries(GLOBAL_OPTIONS));
  for (const command of commands) {
    for (const [name, spec] of Object.entries(command.options)) {
      const seen = all.get(name);
      if (seen && seen.type !== spec.type) throw new Error(`option --${name} is a ${seen.type} in one command and a ${spec.type} in another`);
      if (!seen) all.set(name, spec);
    }
  }
  return all;
}
