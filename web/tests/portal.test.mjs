// The customer portal (issue 14 item 2), at a desktop and a phone width: a newcomer registers
// with the code from the sandbox mailbox, opens a ticket with a file while an article is
// suggested, and sees the agent's reply and the resolution arrive live, then reopens it; a
// WhatsApp customer verifies their number from the profile and finds their WhatsApp ticket; a
// suggested article that answers the question counts a deflection instead of a ticket; a
// Spanish browser gets the Spanish portal. Screenshots: portal-<width>-<page>.png.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO, api, apiLogin, consoleErrors, launchBrowser, sandboxFetch, sandboxPhone, sandboxSend, screenshot, startHub, waitFor,
} from './harness.mjs';

const WIDTHS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
];

/** The browser logs one 401 on purpose: the portal asks who is signed in before anyone is. */
const SIGNED_OUT_PROBE = [/401 \(Unauthorized\)/];

/** The 6-digit code in the newest mail to `address` in the sandbox mailbox. */
async function mailedCode(base, address) {
  return waitFor(async () => {
    const response = await sandboxFetch(base, `/sandbox/mail/messages?address=${encodeURIComponent(address)}`);
    const items = (await response.json()).items;
    return items.map((mail) => mail.text.match(/\b(\d{6})\b/)?.[1]).filter(Boolean).at(-1);
  }, { timeout: 10_000, message: `a code mailed to ${address}` });
}

/** A page in a fresh context (own cookies) at one width, in `locale`. */
async function portalPage(browser, { width, height }, locale = 'en-US') {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  const page = await context.newPage();
  consoleErrors(page);
  return page;
}

async function noSidewaysScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(wide <= 1, `the page scrolls sideways by ${wide}px`);
}

describe('customer portal', () => {
  let hub;
  let browser;
  let agent;
  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    agent = await apiLogin(hub.base, DEMO.agent);
    // Satisfaction surveys on (they are off until an admin turns them on), every channel.
    const admin = await apiLogin(hub.base, DEMO.admin);
    await api(hub.base, admin, '/account/csat', {
      method: 'PUT',
      body: { enabled: true, question: 'How did we do?', scale: 'five', channels: ['whatsapp', 'email', 'portal'], cooldown_days: 0, comment_prompt: 'Anything you would like to add?' },
    });
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const size of WIDTHS) {
    test(`${size.name}: register, open a ticket with a file while an article is suggested, follow the replies live, reopen`, async () => {
      const page = await portalPage(browser, size);
      const email = `newcomer-${size.name}@example.test`;
      await page.goto(`${hub.base}/portal`);
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Name').fill('Nora Newcomer');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('New password').fill('nora-password-1');
      await page.getByRole('button', { name: 'Create my account' }).click();
      await page.getByText(`If ${email} has an account here`).waitFor();
      await page.getByLabel('6-digit code').fill(await mailedCode(hub.base, email));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Your requests' }).waitFor();
      await screenshot(page, `portal-${size.width}-dashboard`);

      await page.getByRole('link', { name: 'New ticket' }).first().click();
      await page.getByLabel('Subject').fill('I forgot my password');
      await page.getByLabel('Tell us what happened').fill('How can I reset it? The login page refuses me.');
      const suggestion = page.locator('.suggestion', { hasText: 'Reset your password' });
      await suggestion.waitFor({ timeout: 5_000 });
      await page.locator('#new-files').setInputFiles({ name: 'error.txt', mimeType: 'text/plain', buffer: Buffer.from('Error 403 at login') });
      await page.getByText('error.txt').waitFor();
      await noSidewaysScroll(page);
      await screenshot(page, `portal-${size.width}-new-ticket`);
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForURL(/#\/tickets\/\d+$/);
      const id = Number(page.url().match(/#\/tickets\/(\d+)$/)[1]);
      await page.getByRole('heading', { name: /I forgot my password/ }).waitFor();
      const file = page.locator('.message.mine a.file', { hasText: 'error.txt' });
      await file.waitFor();
      const download = await page.request.get(`${hub.base}${await file.getAttribute('href')}`);
      assert.equal(await download.text(), 'Error 403 at login', 'the customer downloads their own file');

      // The agent answers: the reply appears without a reload, then the resolution.
      await api(hub.base, agent, `/tickets/${id}/messages`, { method: 'POST', body: { body: 'Use **Forgot password** on the login page.' } });
      await page.locator('.message.ours', { hasText: 'Forgot password' }).waitFor({ timeout: 5_000 });
      await api(hub.base, agent, `/tickets/${id}/messages`, { method: 'POST', body: { body: 'Closing this one.', then_status: 'resolved' } });
      await page.locator('.status[data-status="resolved"]').first().waitFor({ timeout: 5_000 });

      // The survey of this resolution appears live; the customer rates it and adds a comment.
      await page.getByRole('button', { name: '4 – Good' }).click({ timeout: 5_000 });
      await page.getByText('Thank you: you rated us 4/5.').waitFor();
      await page.getByLabel('Anything you would like to add?').fill('Quick and clear.');
      await page.getByRole('button', { name: 'Send comment' }).click();
      await page.getByText('Thanks for your comment.').waitFor();
      const survey = (await api(hub.base, agent, `/tickets/${id}/csat`)).survey;
      assert.deepEqual([survey.status, survey.score, survey.comment, survey.channel], ['answered', 4, 'Quick and clear.', 'portal']);
      await noSidewaysScroll(page);
      await screenshot(page, `portal-${size.width}-ticket`);

      // Still stuck: reopening asks what is wrong and sends it.
      await page.getByRole('button', { name: 'Reopen the ticket' }).click();
      await page.getByLabel('What is still not working?').fill('The link expired before I opened it.');
      await page.getByRole('button', { name: 'Reopen and send' }).click();
      await page.locator('.status[data-status="open"]').first().waitFor({ timeout: 5_000 });
      const ticket = await api(hub.base, agent, `/tickets/${id}`);
      assert.equal(ticket.status_category, 'open', 'reopened for the team too');
      assert.equal(ticket.messages.at(-1).body, 'The link expired before I opened it.');

      // The list finds it by a word of its description, and filters by state.
      await page.goto(`${hub.base}/portal#/tickets`);
      await page.getByRole('searchbox').fill('login page');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator(`.ticket-row[data-ticket="${id}"]`).waitFor();
      await page.getByRole('button', { name: 'Resolved' }).click();
      await page.getByText('No ticket matches').waitFor();
      await noSidewaysScroll(page);
      await screenshot(page, `portal-${size.width}-tickets`);
      assert.deepEqual(consoleErrors(page, { ignore: SIGNED_OUT_PROBE }), []);
      await page.context().close();
    });
  }

  test('a customer who opens the console lands in the portal; an article that answers the question counts a deflection and opens no ticket', async () => {
    const page = await portalPage(browser, WIDTHS[1]);
    await page.goto(`${hub.base}/portal`);
    await page.getByLabel('Email').fill('erin@example.test');
    await page.getByLabel('Password').fill('switchboard-demo');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your requests' }).waitFor();
    // The console is the team's: a customer who opens it lands back in the portal.
    await page.goto(`${hub.base}/agent`);
    await page.waitForURL(/\/portal$/);
    await page.getByRole('heading', { name: 'Your requests' }).waitFor();
    const admin = await apiLogin(hub.base, DEMO.admin);
    const before = (await api(hub.base, admin, '/tickets?limit=200')).items.length;
    await page.goto(`${hub.base}/portal#/tickets/new`);
    await page.getByLabel('Subject').fill('Reset my password');
    await page.locator('.suggestion', { hasText: 'Reset your password' }).getByRole('button', { name: 'This answered my question' }).click();
    await page.getByRole('heading', { name: 'Glad it helped' }).waitFor();
    const counted = await api(hub.base, admin, '/kb/deflections');
    assert.equal(counted.items.reduce((sum, row) => sum + row.count, 0), 1);
    assert.equal((await api(hub.base, admin, '/tickets?limit=200')).items.length, before, 'no ticket opened');
    await page.context().close();
  });

  for (const [index, size] of WIDTHS.entries()) {
  test(`${size.name}: a WhatsApp customer verifies their number in the profile and finds their WhatsApp ticket`, async () => {
    const waId = `551198765000${index + 1}`;
    await sandboxSend(hub.base, { wa_id: waId, name: 'Wanda', text: 'My order 4411 never arrived' });
    const page = await portalPage(browser, size);
    const email = `wanda-${size.name}@example.test`;
    await page.goto(`${hub.base}/portal#/register`);
    await page.getByLabel('Name').fill('Wanda');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('New password').fill('wanda-password-1');
    await page.getByRole('button', { name: 'Create my account' }).click();
    await page.getByLabel('6-digit code').fill(await mailedCode(hub.base, email));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Your requests' }).waitFor();
    await page.getByText('Nothing open').waitFor();

    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByLabel('WhatsApp number, with country code').fill(`+55 11 98765-000${index + 1}`);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    const code = await waitFor(async () => {
      const phone = await sandboxPhone(hub.base, waId);
      return phone.items.map((message) => message.text?.match(/\b(\d{6})\b/)?.[1]).filter(Boolean).at(-1);
    }, { timeout: 10_000, message: 'the code on the sandbox phone' });
    await page.getByLabel('6-digit code').fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('.verified-number').waitFor();
    await screenshot(page, `portal-${size.width}-profile`);

    await page.getByRole('link', { name: 'My tickets' }).click();
    const row = page.locator('.ticket-row', { hasText: 'My order 4411 never arrived' });
    await row.waitFor({ timeout: 5_000 });
    await row.getByRole('link').click();
    await page.locator('.message.mine', { hasText: 'My order 4411 never arrived' }).waitFor();
    assert.match(await page.locator('.message.mine').first().textContent(), /via WhatsApp/);
    assert.deepEqual(consoleErrors(page, { ignore: SIGNED_OUT_PROBE }), []);
    await page.context().close();
  });
  }

  for (const [index, size] of WIDTHS.entries()) {
  test(`${size.name}: a Spanish browser gets the Spanish portal, and a profile language wins over the browser`, async () => {
    const page = await portalPage(browser, size, 'es-ES');
    await page.goto(`${hub.base}/portal`);
    await page.getByRole('heading', { name: 'Te damos la bienvenida' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    // Two customers with no language of their own yet: one per width.
    await page.getByLabel('Correo electrónico').fill(['dan@acme.test', 'carla@acme.test'][index]);
    await page.getByLabel('Contraseña').fill('switchboard-demo');
    await page.getByRole('button', { name: 'Iniciar sesión' }).click();
    await page.getByRole('heading', { name: 'Tus solicitudes' }).waitFor();
    await screenshot(page, `portal-${size.width}-dashboard-es`);

    await page.getByRole('link', { name: 'Perfil' }).click();
    await page.getByLabel('Idioma').selectOption('pt');
    await page.getByRole('button', { name: 'Guardar' }).click();
    await page.getByRole('heading', { name: 'Perfil' }).waitFor();
    await page.getByRole('link', { name: 'Meus chamados' }).waitFor({ timeout: 5_000 });
    await page.reload();
    await page.getByRole('link', { name: 'Meus chamados' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'pt', 'the profile language outlives a reload');
    assert.deepEqual(consoleErrors(page, { ignore: SIGNED_OUT_PROBE }), []);
    await page.context().close();
  });
  }
});
