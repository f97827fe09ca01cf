// The web app in a real browser, served by `npm start`'s Vite dev server with /graphql proxied to the
// gateway: two members sign in (one with TOTP) in two browser contexts, and each sees the other's
// changes to the board live, with no reload and no request leaving this machine. The gateway refuses
// tokens older than 30 s here, so the app must refresh tokens and renew its live feed on its own.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { latestMail, linkToken } from '@citadel/kit/testing/mailbox';
import { base32Decode, stepAt, totpCode } from '../subgraphs/identity/src/mfa/totp';
import { launch, type Platform } from './launcher';
import { ADD_MEMBER, CREATE_WORKSPACE, eventually, ok, REMOVE_MEMBER } from './workspaces-helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CITADEL_REQUIRE_BROWSER === '1') throw new Error(`CITADEL_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}`);
  console.warn(`web app browser test not run: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

const PASSWORD = 'web app e2e passphrase';
const MAX_TOKEN_AGE_SECONDS = 30;

interface Member {
  id: string;
  email: string;
  token: string;
}

describe.skipIf(!hasChromium)('web app in headless Chromium', () => {
  let platform: Platform;
  let gql: string;
  let browser: Browser;
  let ada: Member;
  let ben: Member;
  let adaTotp: Buffer;
  let adaRecoveryCodes: string[];
  let lastStep = 0;
  let workspaceId: string;
  const leaving: string[] = [];

  /** A verified account, signed in over the API (the browser signs in for itself later). */
  const member = async (name: string): Promise<Member> => {
    const email = `${name}-${Date.now()}@example.com`;
    const registered = await graphqlRequest<{ register: { id: string } }>(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
      variables: { i: { email, password: PASSWORD, name } },
    });
    const id = registered.body.data!.register.id;
    const mailbox = join(platform.dataDir, 'mail');
    // A message being written as the mailbox is read is half a JSON file: read again.
    const mail = await eventually(() => latestMail(mailbox, email, 'Confirm your email').catch(() => undefined), (m) => m !== undefined);
    if (!mail) throw new Error(`no verification mail for ${email}`);
    const token = linkToken(mail);
    await graphqlRequest(gql, 'mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }', { variables: { t: token } });
    const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email, password: PASSWORD } },
    });
    return { id, email, token: login.body.data!.login.accessToken };
  };

  /** A TOTP code for a time step not used before (a code works once). */
  const nextCode = () => {
    lastStep = Math.max(stepAt(Date.now()), lastStep + 1);
    return totpCode(adaTotp, lastStep);
  };

  beforeAll(async () => {
    platform = await launch({ env: { ACCESS_TOKEN_MAX_AGE_SECONDS: String(MAX_TOKEN_AGE_SECONDS) } });
    gql = `${platform.gatewayUrl}/graphql`;
    [ada, ben] = await Promise.all([member('ada'), member('ben')]);
    const setup = await ok<{ enableTotp: { secret: string } }>(gql, ada.token, 'mutation { enableTotp { secret } }');
    adaTotp = base32Decode(setup.enableTotp.secret);
    ({ confirmTotp: adaRecoveryCodes } = await ok<{ confirmTotp: string[] }>(gql, ada.token, 'mutation($c: String!) { confirmTotp(code: $c) }', { c: nextCode() }));
    const { createWorkspace } = await ok<{ createWorkspace: { id: string } }>(gql, ada.token, CREATE_WORKSPACE, { name: 'Launch plan' });
    workspaceId = createWorkspace.id;
    await ok(gql, ada.token, ADD_MEMBER, { i: { workspaceId, email: ben.email } });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  /** A fresh token for ada's API calls (tokens age out quickly here), with one of her recovery codes. */
  const adaToken = async (): Promise<string> => {
    const login = await graphqlRequest<{ login: { mfaChallenge: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { mfaChallenge } }', {
      variables: { i: { email: ada.email, password: PASSWORD } },
    });
    const done = await graphqlRequest<{ completeMfaChallenge: { accessToken: string } }>(
      gql,
      'mutation($i: MfaChallengeInput!) { completeMfaChallenge(input: $i) { accessToken } }',
      { variables: { i: { challenge: login.body.data!.login.mfaChallenge, recoveryCode: adaRecoveryCodes.pop() } } },
    );
    return done.body.data!.completeMfaChallenge.accessToken;
  };

  const context = async (): Promise<BrowserContext> => {
    const ctx = await browser.newContext();
    ctx.on('request', (request) => {
      const url = new URL(request.url());
      const local = ['127.0.0.1', 'localhost'].includes(url.hostname) || ['data:', 'blob:'].includes(url.protocol);
      if (!local) leaving.push(request.url());
    });
    return ctx;
  };

  const signIn = async (page: Page, email: string, code?: () => string) => {
    await page.goto(platform.webUrl);
    await page.getByTestId('signin-email').fill(email);
    await page.getByTestId('signin-password').fill(PASSWORD);
    await page.getByTestId('signin-submit').click();
    if (code) {
      await page.getByTestId('mfa-code').fill(code());
      await page.getByTestId('mfa-submit').click();
    }
    await expect.poll(() => page.getByTestId('workspace-list').isVisible(), { timeout: 15_000 }).toBe(true);
  };

  const openBoard = async (page: Page) => {
    await page.getByTestId('workspace-link').filter({ hasText: 'Launch plan' }).click();
    await expect.poll(() => page.getByTestId('board-title').innerText(), { timeout: 15_000 }).toBe('Launch plan');
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('live');
  };

  const todo = (page: Page, title: string) => page.getByTestId('todo').filter({ hasText: title });
  const liveState = (page: Page) => page.getByTestId('live-status').getAttribute('data-state');
  const accessTokenOf = (page: Page) =>
    page.evaluate(() => (JSON.parse(sessionStorage.getItem('citadel.session') ?? '{}') as { accessToken?: string }).accessToken);
  const create = async (page: Page, title: string) => {
    await page.getByTestId('todo-title-input').fill(title);
    await page.getByTestId('todo-create').click();
  };

  it('shows a wrong password as the server says it, with no stack', async () => {
    const page = await (await context()).newPage();
    await page.goto(platform.webUrl);
    await page.getByTestId('signin-email').fill(ben.email);
    await page.getByTestId('signin-password').fill('not the passphrase');
    await page.getByTestId('signin-submit').click();
    await expect.poll(() => page.getByTestId('error').innerText(), { timeout: 15_000 }).toBe('Email or password is incorrect');
    await page.context().close();
  });

  it('two members on one board: a todo created by one appears for the other without reload, and changes flow back', async () => {
    const pageA = await (await context()).newPage();
    const pageB = await (await context()).newPage();
    await signIn(pageA, ada.email, nextCode);
    await signIn(pageB, ben.email);
    await expect(pageA.getByTestId('signed-in-as').innerText()).resolves.toBe('ada');
    await Promise.all([openBoard(pageA), openBoard(pageB)]);
    // A value on B's window survives only if B's page is never reloaded.
    await pageB.evaluate(() => Object.assign(window, { sameDocument: true }));

    await create(pageA, 'Write the launch post');
    await expect.poll(() => todo(pageB, 'Write the launch post').count(), { timeout: 15_000 }).toBe(1);
    await expect(todo(pageB, 'Write the launch post').getAttribute('data-status')).resolves.toBe('OPEN');

    // A assigns it to B; B sees it.
    await todo(pageA, 'Write the launch post').getByTestId('todo-assignee').selectOption({ label: 'ben' });
    await expect.poll(() => todo(pageB, 'Write the launch post').getAttribute('data-assignee'), { timeout: 15_000 }).toBe('ben');

    // B completes it; A sees it done.
    await todo(pageB, 'Write the launch post').getByTestId('todo-toggle').click();
    await expect.poll(() => todo(pageA, 'Write the launch post').getAttribute('data-status'), { timeout: 15_000 }).toBe('DONE');
    await expect(todo(pageA, 'Write the launch post').getByTestId('todo-toggle').innerText()).resolves.toBe('Reopen');

    // Once B's token is too old, the gateway ends B's feed (UNAUTHENTICATED); the app refreshes the
    // token and subscribes again, and A's next change still reaches B.
    const firstToken = await accessTokenOf(pageB);
    await expect.poll(() => accessTokenOf(pageB), { timeout: (MAX_TOKEN_AGE_SECONDS + 60) * 1000 }).not.toBe(firstToken);
    await expect.poll(() => liveState(pageB), { timeout: 15_000 }).toBe('live');
    await create(pageA, 'Print the banners');
    await expect.poll(() => todo(pageB, 'Print the banners').count(), { timeout: 15_000 }).toBe(1);
    await expect(pageA.getByTestId('error').isVisible()).resolves.toBe(false);
    expect(await pageB.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // Removed from the workspace, B's live feed ends and says why.
    await ok(gql, await adaToken(), REMOVE_MEMBER, { w: workspaceId, u: ben.id });
    await expect.poll(() => liveState(pageB), { timeout: 15_000 }).toBe('ended');
    await expect(pageB.getByTestId('live-status').innerText()).resolves.toContain('You are no longer a member of this workspace');

    expect(leaving).toEqual([]);
  }, 240_000);
});
