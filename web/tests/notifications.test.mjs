// Notifications live: agent A @mentions agent B in an internal note, picked with the `@`
// autocomplete, and B (another browser) sees the bell's count rise, a toast and the tab title's
// count without reloading; the panel opens the ticket and marks it read. At both widths.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, sandboxSend, screenshot, startHub, waitFor } from './harness.mjs';

function number() {
  return `55219${String(Date.now()).slice(-8)}${Math.floor(Math.random() * 10)}`;
}

async function newTicket(hub, token, label) {
  const waId = number();
  const subject = `${label} ${waId}`;
  await sandboxSend(hub.base, { wa_id: waId, name: `${label} Customer`, text: subject });
  return waitFor(async () => {
    const page = await api(hub.base, token, '/tickets?channel=whatsapp&limit=200');
    return page.items.find((ticket) => ticket.subject === subject);
  }, { message: `ticket "${subject}"` });
}

async function bellCount(page) {
  const badge = page.locator('.bell-count');
  return (await badge.count()) === 0 ? 0 : Number(await badge.getAttribute('data-count'));
}

describe('notifications', () => {
  let hub;
  let browser;
  let tokenA;
  let tokenB;
  let userB;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    tokenA = await apiLogin(hub.base, DEMO.agent);
    tokenB = await apiLogin(hub.base, DEMO.agent2);
    userB = (await api(hub.base, tokenB, '/me'));
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`an @mention in a note reaches the other agent live: bell count and toast (${width} px)`, async () => {
      const ticket = await newTicket(hub, tokenA, 'Mention');
      // Start B from nothing unread, so the count is this test's.
      await api(hub.base, tokenB, '/notifications/read', { method: 'POST', body: { all: true } });

      const pageB = await newPage(browser, { width, height });
      await login(pageB, hub.base, DEMO.agent2);
      await pageB.goto(`${hub.base}/#/queue`);
      await pageB.locator('.bell-button').waitFor();
      await waitFor(async () => (await pageB.locator('.connection.live').count()) === 1, { message: "B's socket live" });
      assert.equal(await bellCount(pageB), 0);

      const pageA = await newPage(browser, { width, height });
      await login(pageA, hub.base, DEMO.agent);
      await pageA.goto(`${hub.base}/#/tickets/${ticket.id}`);
      await pageA.locator('#reply-body').waitFor();
      await pageA.getByLabel('Internal note').check();
      const firstName = userB.name.split(' ')[0];
      await pageA.locator('#reply-body').pressSequentially(`Can you check the refund? @${firstName.slice(0, 3)}`);
      const option = pageA.getByRole('option', { name: new RegExp(userB.name) });
      await option.waitFor();
      await screenshot(pageA, `notifications-mention-picker-${width}`);
      await pageA.keyboard.press('Enter');
      const written = await pageA.locator('#reply-body').inputValue();
      assert.equal(written, `Can you check the refund? @[${userB.name}](user:${userB.id}) `, 'the mention is stored resolvable to B');
      await pageA.getByRole('button', { name: 'Add note' }).click();
      // A's thread shows the mention as a link to B.
      const link = pageA.locator('.message.note a.mention', { hasText: `@${userB.name}` });
      await link.waitFor();
      assert.equal(await link.getAttribute('data-user'), String(userB.id));

      // B: the count rises, a toast says who mentioned them where, the tab title counts too.
      await waitFor(async () => (await bellCount(pageB)) === 1, { message: "B's bell count at 1" });
      const toast = pageB.locator('.toast', { hasText: `#${ticket.number}` });
      await toast.waitFor();
      assert.match(await toast.innerText(), /mentioned you/);
      assert.match(await pageB.title(), /^\(1\) Switchboard/);
      await screenshot(pageB, `notifications-toast-${width}`);

      // The panel lists it; a click opens the ticket and marks it read.
      await pageB.locator('.bell-button').click();
      const item = pageB.locator('.notification-panel li.unread', { hasText: `#${ticket.number}` });
      await item.waitFor();
      await screenshot(pageB, `notifications-panel-${width}`);
      // The bell, its panel and the toast fit the width (checked on the queue, where B is).
      const overflow = await pageB.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      assert.equal(overflow, false, 'no horizontal scroll with the panel open');
      await item.locator('button').click();
      await pageB.locator('.ticket-head h1', { hasText: ticket.subject }).waitFor();
      await waitFor(async () => (await bellCount(pageB)) === 0, { message: "B's bell back to 0" });
      assert.equal(await pageB.title(), 'Switchboard');
      const unread = await api(hub.base, tokenB, '/notifications?unread=true');
      assert.equal(unread.unread, 0);

      // A was not told of their own note.
      const own = await api(hub.base, tokenA, '/notifications');
      assert.ok(!own.items.some((n) => n.kind === 'mention' && n.ticket_id === ticket.id), 'A is not notified of their own mention');
      assert.deepEqual(consoleErrors(pageA), []);
      assert.deepEqual(consoleErrors(pageB), []);
      await pageA.context().close();
      await pageB.context().close();
    });
  }

  test('preferences are saved from their page', async () => {
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent2);
    await page.goto(`${hub.base}/#/preferences`);
    await page.getByLabel('Someone @mentions me in a note').waitFor();
    await page.getByLabel('The customer writes on my ticket').uncheck();
    await page.getByLabel('Only critical tickets alert me between').check();
    await page.locator('input[name="from"]').fill('21:30');
    await page.locator('select[name="digest"]').selectOption('daily');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = await api(hub.base, tokenB, '/me/preferences');
    assert.equal(saved.kinds.customer_reply, false);
    assert.deepEqual(saved.quiet_hours, { from: '21:30', to: '07:00' });
    assert.equal(saved.digest, 'daily');
    await screenshot(page, 'notifications-preferences-1280');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
