// Outgoing mail: SMTP through nodemailer when SMTP_URL is set, otherwise a development mailbox
// that writes each message to a folder (one .json file per message) and logs where it is.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'mailbox';
  send(message: MailMessage): Promise<void>;
}

export interface MailerOptions {
  smtpUrl?: string | undefined;
  from: string;
  /** Development mailbox folder, used when no SMTP_URL is set. */
  mailboxDir: string;
  logger: Logger;
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? new SmtpMailer(options.smtpUrl, options.from) : new MailboxMailer(options.mailboxDir, options.from, options.logger);
}

export class SmtpMailer implements Mailer {
  readonly kind = 'smtp';
  private readonly transport: nodemailer.Transporter;

  constructor(url: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...message });
  }
}

export class MailboxMailer implements Mailer {
  readonly kind = 'mailbox';

  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.json`);
    // Written aside and renamed into place, so a reader listing *.json never sees half a message.
    await writeFile(`${file}.partial`, JSON.stringify({ from: this.from, date: new Date().toISOString(), ...message }, null, 2), { mode: 0o600 });
    await rename(`${file}.partial`, file);
    // The file holds the message and its link; the log names the file, never the token in it.
    this.logger.info({ file, subject: message.subject }, 'mail written to the development mailbox');
  }
}
