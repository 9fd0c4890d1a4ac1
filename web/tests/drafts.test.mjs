// The reply box belongs to one ticket: a draft (text, files, internal-note tick) written on one
// customer's ticket is never shown on another's, comes back on its own ticket (after a reload
// too), is gone once sent or once its author logs out, and an unknown ticket id shows "not
// found" rather than the ticket opened before it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, sandboxSend, screenshot, startHub, waitFor } from './harness.mjs';

function number() {
  return `55218${String(Date.now()).slice(-8)}${Math.floor(Math.random() * 10)}`;
}

async function ticketFor(base, token, subject) {
  return waitFor(async () => {
    const page = await api(base, token, '/tickets?channel=whatsapp&limit=200');
    return page.items.find((ticket) => ticket.subject === subject);
  }, { message: `ticket "${subject}"` });
}

async function newTicket(hub, token, label) {
  const waId = number();
  const subject = `${label} ${waId}`;
  await sandboxSend(hub.base, { wa_id: waId, name: `${label} Customer`, text: subject });
  return ticketFor(hub.base, token, subject);
}

/** Open a ticket by its hash (no page load when already in the console) and wait for its header. */
async function open(page, base, ticket) {
  await page.goto(`${base}/#/tickets/${ticket.id}`);
  await page.locator('.ticket-head h1', { hasText: ticket.subject }).waitFor();
  await page.locator('#reply-body').waitFor();
}

async function replyState(page) {
  return {
    text: await page.locator('#reply-body').inputValue(),
    internal: await page.getByLabel('Internal note').isChecked(),
    files: await page.locator('.attached li').count(),
  };
}

const EMPTY = { text: '', internal: false, files: 0 };

describe('reply drafts', () => {
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
    test(`a draft stays on its own ticket, survives a reload and is gone once sent (${width} px)`, async () => {
      const first = await newTicket(hub, token, 'Draft A');
      const second = await newTicket(hub, token, 'Draft B');
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);

      await open(page, hub.base, first);
      await page.getByLabel('Internal note').check();
      await page.fill('#reply-body', 'Refund approved for order 4411');
      await page.getByLabel('Attach').setInputFiles({ name: 'refund.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 refund') });
      await page.locator('.attached', { hasText: 'refund.pdf' }).waitFor();
      const drafted = { text: 'Refund approved for order 4411', internal: true, files: 1 };

      await open(page, hub.base, second);
      assert.deepEqual(await replyState(page), EMPTY, "the other customer's ticket shows none of the draft");
      await screenshot(page, `drafts-other-ticket-${width}`);

      await open(page, hub.base, first);
      assert.deepEqual(await replyState(page), drafted, 'the draft is back on its own ticket');

      await page.reload();
      await open(page, hub.base, first);
      assert.deepEqual(await replyState(page), drafted, 'the draft survived a reload');
      await open(page, hub.base, second);
      assert.deepEqual(await replyState(page), EMPTY, 'and still only on its own ticket');

      await open(page, hub.base, first);
      await page.getByRole('button', { name: 'Add note' }).click();
      await page.locator('.message.note', { hasText: 'Refund approved for order 4411' }).waitFor();
      await waitFor(async () => (await page.locator('#reply-body').inputValue()) === '', { message: 'the reply box emptied' });
      await page.reload();
      await open(page, hub.base, first);
      assert.deepEqual(await replyState(page), EMPTY, 'a sent reply leaves no draft behind');
      assert.deepEqual(consoleErrors(page), []);
      await page.close();
    });
  }

  test('the draft follows the agent to another device, and is gone from both once sent', async () => {
    const ticket = await newTicket(hub, token, 'Two devices');
    const laptop = await newPage(browser);
    await login(laptop, hub.base, DEMO.agent);
    await open(laptop, hub.base, ticket);
    await laptop.getByLabel('Internal note').check();
    await laptop.fill('#reply-body', 'Started on the laptop');
    const onServer = async () => {
      const response = await fetch(`${hub.base}/api/v1/tickets/${ticket.id}/draft`, { headers: { authorization: `Bearer ${token}` } });
      return response.status === 200 ? response.json() : null;
    };
    await waitFor(async () => (await onServer())?.body === 'Started on the laptop', { message: 'the draft kept on the server' });

    // Another browser (its own storage): the server's draft is restored there.
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, hub.base, DEMO.agent);
    await open(phone, hub.base, ticket);
    await waitFor(async () => (await phone.locator('#reply-body').inputValue()) === 'Started on the laptop', { message: 'the draft on the other device' });
    assert.equal(await phone.getByLabel('Internal note').isChecked(), true);

    await phone.getByRole('button', { name: 'Add note' }).click();
    await phone.locator('.message.note', { hasText: 'Started on the laptop' }).waitFor();
    await waitFor(async () => (await onServer()) === null, { message: 'the server draft removed once sent' });
    // Back on the laptop, the copy it kept is gone too: that reply was sent.
    await laptop.reload();
    await open(laptop, hub.base, ticket);
    await waitFor(async () => (await laptop.locator('#reply-body').inputValue()) === '', { message: 'the sent draft gone on the laptop' });
    assert.deepEqual(await replyState(laptop), EMPTY);
    assert.deepEqual(consoleErrors(laptop), []);
    assert.deepEqual(consoleErrors(phone), []);
    await laptop.close();
    await phone.close();
  });

  test('an unknown ticket id shows "not found", not the ticket opened before it', async () => {
    const ticket = await newTicket(hub, token, 'Before missing');
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent);
    await open(page, hub.base, ticket);
    await page.goto(`${hub.base}/#/tickets/999999`);
    await page.getByText('Ticket not found').waitFor();
    assert.equal(await page.getByText(ticket.subject).count(), 0, "none of the previous ticket's subject");
    assert.equal(await page.locator('#reply-body').count(), 0, 'no reply box');
    await screenshot(page, 'ticket-not-found');
    // Chromium logs the 404 of the ticket's read; nothing else may fail.
    assert.deepEqual(consoleErrors(page, { ignore: [/status of 404/] }), []);
    await page.close();
  });

  test("logging out takes the user's drafts with it; another user of the browser never sees them", async () => {
    const ticket = await newTicket(hub, token, 'Shared browser');
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent);
    await open(page, hub.base, ticket);
    await page.fill('#reply-body', 'Only for Ana to send');
    await page.reload();
    await open(page, hub.base, ticket);
    assert.equal(await page.locator('#reply-body').inputValue(), 'Only for Ana to send');
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('switchboard.drafts.')));
    assert.equal(stored.length, 1, 'the draft is kept under one user-scoped key');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('input[type=password]').waitFor();
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('switchboard.drafts.'))), [], 'logging out cleared it');

    await login(page, hub.base, DEMO.agent2);
    await page.reload();
    await open(page, hub.base, ticket);
    assert.equal(await page.locator('#reply-body').inputValue(), '', 'the next user of the browser sees no draft');
    await page.close();
  });
});
