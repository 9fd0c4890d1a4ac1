// Smoke test: the harness works end to end (hub + Debian chromium + REST API).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DEMO,
  api,
  apiLogin,
  consoleErrors,
  launchBrowser,
  login,
  newPage,
  screenshot,
  startHub,
  waitFor,
} from './harness.mjs';

describe('smoke', () => {
  let hub;
  let browser;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  test('the sandbox phone asks to log in first, then a message from it becomes a WhatsApp ticket', async () => {
    const page = await newPage(browser, { width: 480, height: 800 });
    // As the README says: log in first (the phone is a staff tool), then open the sandbox phone.
    const refused = await page.goto(`${hub.base}/sandbox/phone`);
    assert.equal(refused.status(), 401);
    await page.getByRole('heading', { name: 'Log in first' }).waitFor();
    assert.equal(await page.locator('#compose').count(), 0, 'nothing of the phone without a session');
    await page.getByRole('link', { name: 'Log in to the console' }).click();
    await page.fill('input[name=email]', DEMO.agent);
    await page.fill('input[name=password]', 'switchboard-demo');
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: /Queue/ }).waitFor();
    await page.goto(`${hub.base}/sandbox/phone`);
    // A number of its own, so the message opens a new ticket instead of joining a demo one.
    const waId = `55119${String(Date.now()).slice(-8)}`;
    const text = `Smoke test ${Date.now()}: where is my order?`;
    await page.fill('#wa_id', waId);
    await page.fill('#name', 'Smoke Tester');
    await page.fill('#text', text);
    await page.getByRole('button', { name: 'Send' }).click();
    // The phone clears its input once the hub accepted the message, and shows the bubble.
    await page.locator('#chat .bubble.in', { hasText: text }).waitFor({ timeout: 5_000 });

    const token = await apiLogin(hub.base, DEMO.agent);
    const ticket = await waitFor(
      async () => {
        const page_ = await api(hub.base, token, '/tickets?channel=whatsapp');
        return page_.items.find((item) => item.subject === text);
      },
      { timeout: 5_000, message: `a WhatsApp ticket with subject ${JSON.stringify(text)}` },
    );
    assert.equal(ticket.channel, 'whatsapp');
    await screenshot(page, 'smoke-sandbox-phone');
    await page.context().close();
  });

  test('the console loads without console errors, logged out', async () => {
    const page = await newPage(browser, { width: 1280, height: 800 });
    // Signed out, `/` is the public landing page; the console is at /agent.
    const response = await page.goto(`${hub.base}/agent`);
    assert.equal(response.status(), 200);
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'smoke-console-logged-out');
    // Chromium logs every 4xx as "Failed to load resource"; a logged-out console asking who is
    // logged in gets exactly that, and nothing else may appear.
    const expected401 = /Failed to load resource: .*status of 401 .*\/api\/v1\/me\b/;
    assert.deepEqual(consoleErrors(page, { ignore: [expected401] }), []);
    await page.context().close();
  });

  test('the console loads without console errors, logged in as an agent', async () => {
    const page = await newPage(browser, { width: 1280, height: 800 });
    const { user } = await login(page, hub.base, DEMO.agent);
    assert.equal(user.email, DEMO.agent);
    const response = await page.goto(`${hub.base}/`);
    assert.equal(response.status(), 200);
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'smoke-console-agent');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
