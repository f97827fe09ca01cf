// What a command is: its spec (for parsing, help and completion) and what it does.
import type { CommandSpec, OptionValues } from '../args';
import type { CredentialsStore } from '../credentials';
import type { Output } from '../output';
import type { Session } from '../session';
import type { GatewayClient } from '../transport';

export interface CommandContext {
  args: Record<string, string | undefined>;
  options: OptionValues;
  output: Output;
  /** Notes for people (progress, reasons); never data a script parses. */
  note(text: string): void;
  client: GatewayClient;
  session: Session;
  store: CredentialsStore;
}

export interface Command extends CommandSpec {
  run(context: CommandContext): Promise<void>;
}

/** A string option's value, or undefined. */
export function stringOption(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}
