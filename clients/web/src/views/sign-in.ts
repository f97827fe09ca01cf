// Sign in: email and password, then an authenticator (or recovery) code when the account asks for one.
import { describeError } from '../api';
import { busy, h, showError } from '../dom';
import { completeMfa, signIn, type SignInResult } from '../session';

export function signInView(onSignedIn: () => void, notice?: string): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'error', hidden: true });
  if (notice) showError(error, notice);
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, 'data-testid': 'signin-email' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'signin-password' });
  const form = h(
    'form',
    { class: 'card', 'data-testid': 'signin-form' },
    h('h1', {}, 'Sign in to Citadel'),
    h('label', {}, 'Email', email),
    h('label', {}, 'Password', password),
    h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Sign in'),
  );
  const view = h('main', { class: 'narrow' }, form, error);

  const finish = (result: SignInResult) => {
    if (result.kind === 'signed-in') return onSignedIn();
    form.replaceWith(mfaForm(result.challenge, error, finish));
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(error, undefined);
    void busy(form, () => signIn(email.value.trim(), password.value))
      .then(finish)
      .catch((e: unknown) => showError(error, describeError(e)));
  });
  return view;
}

function mfaForm(challenge: string, error: HTMLElement, finish: (result: SignInResult) => void): HTMLFormElement {
  const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, 'data-testid': 'mfa-code' });
  const form = h(
    'form',
    { class: 'card', 'data-testid': 'mfa-form' },
    h('h1', {}, 'Two-factor authentication'),
    h('p', { class: 'hint' }, 'Enter the six-digit code from your authenticator app, or one of your recovery codes.'),
    h('label', {}, 'Code', code),
    h('button', { type: 'submit', 'data-testid': 'mfa-submit' }, 'Verify'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(error, undefined);
    void busy(form, () => completeMfa(challenge, code.value))
      .then(finish)
      .catch((e: unknown) => showError(error, describeError(e)));
  });
  queueMicrotask(() => code.focus());
  return form;
}
