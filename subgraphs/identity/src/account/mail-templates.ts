// The messages identity sends. Plain text first; the HTML part says the same.
import type { MailMessage } from '@citadel/kit/mailer';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const message = (to: string, subject: string, lines: string[], link?: { href: string; label: string }): MailMessage => ({
  to,
  subject,
  text: [...lines, ...(link ? ['', `${link.label}: ${link.href}`] : [])].join('\n'),
  html: [
    ...lines.map((l) => `<p>${escape(l)}</p>`),
    ...(link ? [`<p><a href="${escape(link.href)}">${escape(link.label)}</a></p>`] : []),
  ].join('\n'),
});

export const verificationMail = (to: string, name: string, href: string) =>
  message(to, 'Confirm your email address', [`Hello ${name},`, 'Confirm that this is your address. The link works once, for 24 hours.'], {
    href,
    label: 'Confirm my email',
  });

export const passwordResetMail = (to: string, name: string, href: string) =>
  message(
    to,
    'Reset your password',
    [`Hello ${name},`, 'Someone asked to reset your password. The link works once, for one hour.', 'If it was not you, ignore this message.'],
    { href, label: 'Choose a new password' },
  );

export const mfaChangedMail = (to: string, name: string, what: string) =>
  message(to, 'Two-factor authentication changed', [`Hello ${name},`, what, 'If it was not you, reset your password and contact support.']);

export const newSignInMail = (to: string, name: string, from: string) =>
  message(to, 'New sign-in to your account', [`Hello ${name},`, `Your account was signed in to from ${from}.`, 'If it was not you, reset your password.']);

export const signUpAttemptMail = (to: string, name: string, href: string) =>
  message(
    to,
    'Someone tried to sign up with your address',
    [`Hello ${name},`, 'Someone tried to create an account with this address, which already has one.', 'If it was you, sign in, or reset your password.'],
    { href, label: 'Reset my password' },
  );
