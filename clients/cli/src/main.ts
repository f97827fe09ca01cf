// The citadel command: parse, run one command, print one line on failure and exit with its code.
import { parseCommandLine, requireArgs } from './args';
import { COMMANDS, helpFor } from './commands/index';
import { CredentialsStore } from './credentials';
import { graphqlEndpoint, readEnv } from './env';
import { EXIT, errorLine, UsageError } from './errors';
import { stdoutOutput } from './output';
import { Session } from './session';
import { GatewayClient } from './transport';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv, COMMANDS);
  const { command, options } = parsed;
  if (!command || options.help) {
    // Unknown words throw; a group (`citadel todo`) without --help gets its commands, as a usage error.
    const text = helpFor(command ? command.path : parsed.words);
    if (!command && parsed.words.length > 0 && !options.help) {
      process.stderr.write(text);
      return EXIT.USAGE;
    }
    process.stdout.write(text);
    return EXIT.OK;
  }
  const env = readEnv();
  const url = typeof options.url === 'string' ? options.url : env.url;
  const endpoint = graphqlEndpoint(url);
  if (!endpoint) throw new UsageError(`not an http(s) URL: "${url}"`);
  const client = new GatewayClient(endpoint);
  const store = new CredentialsStore(env.configDir);
  await command.run({
    args: requireArgs(command, parsed.args),
    options,
    output: stdoutOutput(options.json === true),
    note: (text) => process.stderr.write(`${text}\n`),
    client,
    store,
    session: new Session(client, store),
  });
  return EXIT.OK;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const { line, exitCode } = errorLine(error);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}
// An open prompt or socket must not keep a finished command alive.
process.stdout.write('', () => process.exit());
