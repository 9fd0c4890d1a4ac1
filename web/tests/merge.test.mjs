// Merge then unmerge from the console, at both widths: "Merge into…" by number with a
// confirmation naming both tickets and requesters, the merged ticket's banner linking to the
// target, the merged message and a merge marker in the target's thread, then "Unmerge" putting
// everything back — each page updating live, without a reload, and never scrolling sideways;
// and "Split…" moving ticked messages to a new ticket.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, sandboxSend, screenshot, startHub, waitFor } from './harness.mjs';

function number() {
  return `55219${String(Date.now()).slice(-8)}${Math.floor(Math.random() * 10)}`;
}

async function whatsappTicket(base, token, label) {
  const waId = number();
  const subject = `${label} ${waId}`;
  await sandboxSend(base, { wa_id: waId, name: `${label} Customer`, text: subject });
  const ticket = await waitFor(async () => {
    const page = await api(base, token, '/tickets?channel=whatsapp&limit=200');
    return page.items.find((ticket) => ticket.subject === subject);
  }, { message: `ticket "${subject}"` });
  // The conversation's window is stored just after the ticket shows: its live change would
  // re-render the ticket page under the merge dialog the test is filling in.
  await waitFor(async () => (await api(base, token, `/tickets/${ticket.id}`)).window?.state === 'open', { message: `the window of "${subject}"` });
  return ticket;
}

async function open(page, base, ticket) {
  await page.goto(`${base}/#/tickets/${ticket.id}`);
  await page.locator('.ticket-head h1', { hasText: ticket.subject }).waitFor();
}

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 || el.scrollWidth > el.clientWidth + 1).slice(0, 8).map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)} ${el.scrollWidth}/${el.clientWidth}`));
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px: ${wide.join(' | ')}`);
}

describe('merge and unmerge', () => {
  let hub;
  let browser;
  let token;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    token = await apiLogin(hub.base, DEMO.agent);
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`merge a WhatsApp ticket into another and unmerge it (${width} px)`, async () => {
      const source = await whatsappTicket(hub.base, token, 'Merge me');
      const target = await api(hub.base, token, '/tickets', {
        method: 'POST',
        body: { subject: `Order question ${source.number}`, body: 'Called about the order', requester_id: source.requester_id, channel: 'phone' },
      });
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      // The target is open in another tab: it must update live.
      const watcher = await newPage(browser, { width, height });
      await login(watcher, hub.base, DEMO.agent);
      await open(watcher, hub.base, target);

      await open(page, hub.base, source);
      await page.getByRole('button', { name: 'Merge into…' }).click();
      await page.getByLabel(/into ticket number/).fill(String(target.number));
      await page.getByRole('button', { name: 'Check' }).click();
      const confirm = page.locator('[data-merge-confirm]');
      await confirm.waitFor();
      const text = await confirm.innerText();
      assert.match(text, new RegExp(`#${source.number} ${source.subject}`), 'names the ticket merged');
      assert.match(text, new RegExp(`#${target.number} Order question`), 'names the target');
      assert.match(text, /Merge me Customer.*Merge me Customer/s, 'names both requesters');
      await noSidewaysScroll(page);
      await screenshot(page, `merge-confirm-${width}`);
      await page.getByRole('button', { name: `Merge into #${target.number}` }).click();

      const banner = page.locator('.merge-banner');
      await banner.waitFor();
      assert.match(await banner.innerText(), new RegExp(`Merged into #${target.number}`));
      await page.locator('.link-marker[data-link-event="merged_into"]').waitFor();
      await waitFor(async () => (await page.locator('.message').count()) === 0, { message: 'the messages left this thread' });
      await noSidewaysScroll(page);
      await screenshot(page, `merge-banner-${width}`);

      // The target's page, open all along, shows the merged message with its origin and a marker.
      await watcher.locator('.message', { hasText: source.subject }).waitFor();
      await watcher.locator(`.message .origin[data-origin="${source.id}"]`).waitFor();
      await watcher.locator('.link-marker[data-link-event="merged_in"]').waitFor();
      const bodies = await watcher.locator('.message .body').allInnerTexts();
      assert.deepEqual(bodies, [source.subject, 'Called about the order'], 'interleaved by time');
      await noSidewaysScroll(watcher);
      await screenshot(watcher, `merge-target-${width}`);

      // Follow the banner's link, come back, and undo it.
      await banner.getByRole('link', { name: `#${target.number}` }).click();
      await page.locator('.ticket-head h1', { hasText: 'Order question' }).waitFor();
      await open(page, hub.base, source);
      await page.locator('.merge-banner').getByRole('button', { name: 'Unmerge' }).click();
      await page.locator('.merge-banner').waitFor({ state: 'detached' });
      await page.locator('.message', { hasText: source.subject }).waitFor();
      await page.locator('.link-marker[data-link-event="unmerged"]').waitFor();
      await watcher.locator('.link-marker[data-link-event="merge_undone"]').waitFor();
      await waitFor(async () => (await watcher.locator('.message').count()) === 1, { message: 'the target gave the message back' });
      const stored = await api(hub.base, token, `/tickets/${source.id}`);
      assert.equal(stored.status, source.status, 'the status before the merge');
      assert.equal(stored.links, undefined);
      await noSidewaysScroll(page);
      assert.deepEqual(consoleErrors(page), []);
      assert.deepEqual(consoleErrors(watcher), []);
      await page.close();
      await watcher.close();
    });
  }

  test('split two messages off into a new ticket from the console', async () => {
    const original = await whatsappTicket(hub.base, token, 'Split me');
    for (const body of ['Also: the invoice is wrong', 'It says 40, not 30']) {
      await api(hub.base, token, `/tickets/${original.id}/messages`, { method: 'POST', body: { body, internal: true } });
    }
    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, hub.base, DEMO.agent);
    await open(page, hub.base, original);
    await page.getByRole('button', { name: 'Split…' }).click();
    for (const text of ['Also: the invoice is wrong', 'It says 40, not 30']) {
      await page.locator('.message', { hasText: text }).getByLabel('split off').check();
    }
    await page.getByLabel('Subject of the new ticket').fill('Invoice wrong');
    await noSidewaysScroll(page);
    await page.getByRole('button', { name: 'Split 2 off' }).click();
    await page.locator('.ticket-head h1', { hasText: 'Invoice wrong' }).waitFor();
    await page.locator('.link-marker[data-link-event="split_from"]').waitFor();
    assert.deepEqual(await page.locator('.message .body').allInnerTexts(), ['Also: the invoice is wrong', 'It says 40, not 30']);
    const left = await api(hub.base, token, `/tickets/${original.id}`);
    assert.deepEqual(left.messages.map((message) => message.body), [original.subject]);
    assert.equal(left.links.split_to.length, 1);
    await screenshot(page, 'split-new-ticket-390');
    assert.deepEqual(consoleErrors(page), []);
    await page.close();
  });
});
