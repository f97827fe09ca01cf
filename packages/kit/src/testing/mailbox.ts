// Reads the development mailbox the way a person reads their inbox, for tests.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailMessage } from '../mailer';

export async function readMailbox(dir: string): Promise<MailMessage[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as MailMessage));
}

/** The newest message to `to` whose subject contains `subject`, or undefined. */
export async function latestMail(dir: string, to: string, subject: string): Promise<MailMessage | undefined> {
  return (await readMailbox(dir)).filter((m) => m.to === to && m.subject.includes(subject)).at(-1);
}

/** The `token` query parameter of the first link in a message's text. */
export function linkToken(message: MailMessage): string {
  const url = /https?:\/\/\S+/.exec(message.text)?.[0];
  const token = url ? new URL(url).searchParams.get('token') : null;
  if (!token) throw new Error(`No token link in: ${message.text}`);
  return token;
}
