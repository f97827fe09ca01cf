// Every command, in the order help lists them.
import { completionScript, SHELLS } from '../completion';
import { UsageError } from '../errors';
import { commandHelp, generalHelp } from '../help';
import { parseCommandLine } from '../args';
import { login, logout, me, register } from './auth';
import type { Command } from './command';
import { todoAssign, todoComplete, todoCreate, todoList, todoUnassign } from './todos';
import { watch } from './watch';
import { workspaceAddMember, workspaceCreate, workspaceList, workspaceMembers } from './workspaces';

const completion: Command = {
  path: ['completion'],
  args: ['shell'],
  argChoices: SHELLS,
  summary: 'print a shell completion script (bash or zsh)',
  options: {},
  async run(context) {
    context.output.write(completionScript(context.args.shell!, COMMANDS));
  },
};

const help: Command = {
  path: ['help'],
  args: ['command?', 'subcommand?'],
  summary: 'show help, for all commands, a group or one command',
  options: {},
  async run(context) {
    const { command, subcommand } = context.args;
    context.output.write(helpFor([command, subcommand].filter((word): word is string => word !== undefined)));
  },
};

export const COMMANDS: readonly Command[] = [
  register,
  login,
  logout,
  me,
  workspaceCreate,
  workspaceList,
  workspaceMembers,
  workspaceAddMember,
  todoCreate,
  todoList,
  todoComplete,
  todoAssign,
  todoUnassign,
  watch,
  completion,
  help,
];

/** Help for the command the words name (`todo create`), a group (`todo`), or everything. */
export function helpFor(words: readonly string[]): string {
  if (words.length === 0) return generalHelp(COMMANDS);
  const { command } = parseCommandLine(words, COMMANDS);
  if (command && command.path.length === words.length) return commandHelp(command);
  const group = COMMANDS.filter((c) => words.every((word, i) => c.path[i] === word));
  if (group.length === 0) throw new UsageError(`unknown command "${words.join(' ')}"`);
  return generalHelp(group);
}
