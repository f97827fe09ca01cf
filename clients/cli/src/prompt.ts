// Secrets come from a prompt that does not echo (on a terminal) or from stdin, never from argv.
import { UsageError } from './errors';

/** The first line of stdin, without its line ending (for --password-stdin). */
export async function readStdinLine(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError('no password on stdin');
  return line;
}

/** Asks on the terminal; with `hidden`, typed characters are not shown. */
export async function prompt(question: string, hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError(`cannot ask for ${question.replace(/:\s*$/, '').toLowerCase()}: stdin is not a terminal (use --password-stdin / --totp)`);
  process.stderr.write(question);
  stdin.setRawMode(hidden);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = '';
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(answer);
            return;
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            reject(new UsageError('cancelled'));
            return;
          }
          if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
          else if (char >= ' ') answer += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    if (hidden) stdin.setRawMode(false);
    stdin.pause();
  }
}
