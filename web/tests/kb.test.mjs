// The knowledge base (issue 14 item 3). The public help center with JavaScript off, at 1280 and
// 390 px: the landing page leads to a category and an article, the article links its Spanish
// translation (hreflang), a search finds an article by a word in its body, and "Was this
// helpful?" posts as a plain form. Then the console: an admin writes an article, sees the
// markdown preview, publishes it, and the help center serves it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, collectConsoleErrors, consoleErrors, launchBrowser, login, newPage, screenshot, startHub } from './harness.mjs';

const fits = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

describe('knowledge base', () => {
  let hub;
  let browser;
  let adminToken;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    adminToken = await apiLogin(hub.base, DEMO.admin);
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`the help center works without JavaScript (${width} px)`, async () => {
      const context = await browser.newContext({ viewport: { width, height }, javaScriptEnabled: false, locale: 'en-US' });
      const page = await context.newPage();
      collectConsoleErrors(page);
      await page.goto(`${hub.base}/`);
      await page.getByRole('link', { name: 'Contact us' }).first().waitFor();
      assert.ok(await fits(page), 'the landing page fits the width');

      await page.getByRole('link', { name: 'Sign-in and security' }).first().click();
      await page.getByRole('heading', { name: 'Sign-in and security', level: 1 }).waitFor();
      await page.getByRole('link', { name: 'Reset your password' }).click();
      await page.getByRole('heading', { name: 'Reset your password', level: 1 }).waitFor();
      assert.equal(await page.locator('link[rel=alternate][hreflang=es]').count(), 1, 'hreflang to the Spanish page');
      assert.ok(await fits(page), 'the article fits the width');
      await screenshot(page, `kb-article-${width}`);

      await page.getByRole('link', { name: 'Español' }).click();
      await page.getByRole('heading', { name: 'Restablecer tu contraseña', level: 1 }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'es');

      // A word only in a body ("statement", in the refund article) is found by the search form.
      await page.getByRole('searchbox').first().fill('statement');
      await page.getByRole('searchbox').first().press('Enter');
      await page.getByRole('link', { name: 'When will I get my refund?' }).waitFor();
      await page.getByRole('link', { name: 'When will I get my refund?' }).click();

      await page.getByLabel('Tell us more (optional)').fill('Clear, thanks');
      await page.getByRole('button', { name: 'Yes' }).click();
      await page.getByText('Thank you for your feedback.').waitFor();
      assert.deepEqual(consoleErrors(page), []);
      await context.close();
    });
  }

  test('the counted feedback and drafts stay with staff', async () => {
    const found = await api(hub.base, adminToken, '/kb/articles?q=refund&locale=en');
    const refund = found.items.find((article) => article.slug === 'when-will-i-get-my-refund');
    assert.ok(refund.helpful_count >= 2, `both widths answered yes: ${JSON.stringify(refund)}`);
    const draft = await fetch(`${hub.base}/help/articles/changing-your-plan`);
    assert.equal(draft.status, 404, 'the demo draft is not public');
  });

  test('an admin writes an article in the console, previews it and publishes it', async () => {
    const page = await newPage(browser, { width: 1280, height: 900 });
    await login(page, hub.base, DEMO.admin);
    await page.goto(`${hub.base}/#/kb`);
    await page.getByRole('heading', { name: 'Knowledge base', level: 1 }).waitFor();
    await page.locator('table.kb-articles tbody tr', { hasText: 'Reset your password' }).first().waitFor();

    const form = page.getByRole('form', { name: 'New article' });
    await form.getByLabel('Title').fill('Gift cards');
    await form.getByRole('button', { name: 'New article' }).click();
    const editor = page.getByRole('form', { name: 'Edit article' });
    await editor.getByLabel('Body (markdown)').waitFor();
    await editor.getByLabel('Body (markdown)').fill('## Where to use them\n\nGift cards **never expire**.');
    // The preview is the help center's own rendering (a heading, which the reply box's does not do).
    await page.locator('.kb-preview .kb-rendered h2', { hasText: 'Where to use them' }).waitFor();
    await page.locator('.kb-preview strong', { hasText: 'never expire' }).waitFor();
    await editor.getByRole('button', { name: 'Publish' }).click();
    await editor.locator('.badge.kb-published').waitFor();

    const published = await fetch(`${hub.base}/help/articles/gift-cards`);
    assert.equal(published.status, 200);
    assert.match(await published.text(), /<strong>never expire<\/strong>/);
    assert.deepEqual(consoleErrors(page), []);
  });

  test('an agent links an article from the reply box, and a resolved ticket becomes a draft', async () => {
    const agentToken = await apiLogin(hub.base, DEMO.agent);
    const carla = (await api(hub.base, adminToken, '/users')).items.find((user) => user.email === 'carla@acme.test');
    const ticket = await api(hub.base, agentToken, '/tickets', { method: 'POST', body: { subject: `Refund question ${Date.now()}`, body: 'Where is my refund?', requester_id: carla.id } });
    const page = await newPage(browser, { width: 1280, height: 900 });
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
    await page.locator('#reply-body').waitFor();
    // A typo is forgiven; choosing the article puts a link to its public page in the reply.
    await page.getByRole('searchbox', { name: 'Article' }).fill('refnud');
    await page.getByRole('button', { name: /When will I get my refund\?/ }).click();
    assert.match(await page.locator('#reply-body').inputValue(), /\[When will I get my refund\?\]\(http:\/\/127\.0\.0\.1:\d+\/help\/articles\/when-will-i-get-my-refund\)/);
    await page.locator('#reply-body').fill('Refunds show within 3-5 business days.');
    await page.keyboard.press('Control+Enter');
    await page.locator('.message.reply', { hasText: 'Refunds show within' }).waitFor();

    // Ana holds kb_editor in the demo: once resolved, the ticket becomes a draft she can edit.
    await api(hub.base, agentToken, `/tickets/${ticket.id}`, { method: 'PATCH', body: { status: 'resolved' } });
    await page.getByRole('button', { name: 'Draft a KB article' }).click();
    const editor = page.getByRole('form', { name: 'Edit article' });
    await editor.getByLabel('Body (markdown)').waitFor();
    assert.match(await editor.getByLabel('Body (markdown)').inputValue(), /Where is my refund\?[\s\S]*Refunds show within/);
    await editor.locator('.badge.kb-draft').waitFor();
    assert.deepEqual(consoleErrors(page), []);
  });
});
