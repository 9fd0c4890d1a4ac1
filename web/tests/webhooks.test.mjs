// Outbound webhooks in the console (admins): a subscription is created with the event
// checkboxes and a private address allowed, its secret is shown once, a new ticket's events reach
// a loopback receiver and show in the delivery log, a delivery is sent again by hand, and the
// subscription is switched off from the list; at 1280 and 390 px.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

describe('outbound webhooks', () => {
  let hub;
  let browser;
  let adminToken;
  let receiver;
  let received = [];

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    adminToken = await apiLogin(hub.base, DEMO.admin);
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        received.push({ signature: request.headers['switchboard-signature'], body: JSON.parse(body) });
        response.writeHead(204).end();
      });
    });
    await new Promise((done) => receiver.listen(0, '127.0.0.1', done));
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
    receiver?.close();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`an admin subscribes a receiver, reads the delivery log and redelivers (${width} px)`, async () => {
      received = [];
      const url = `http://127.0.0.1:${receiver.address().port}/hook/${width}`;
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      await page.goto(`${hub.base}/#/webhooks`);
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();

      await page.getByRole('button', { name: 'New webhook' }).click();
      await page.getByLabel('URL').fill(url);
      await page.getByLabel('All events').uncheck();
      await page.locator('.event-types label', { hasText: /^\s*created$/ }).getByRole('checkbox').check();
      await page.getByLabel('Allow private addresses').check();
      await screenshot(page, `webhooks-editor-${width}`);
      await page.getByRole('button', { name: 'Create webhook' }).click();

      // The secret is shown once, then only its effect: the list never carries it.
      const secret = await page.locator('.secret-once code').textContent();
      assert.match(secret, /^whsec_[0-9a-f]{64}$/);
      const row = page.locator('table.webhook-list tbody tr', { hasText: url });
      await row.waitFor();
      const listed = () => api(hub.base, adminToken, '/webhooks').then((list) => list.items.find((hook) => hook.url === url));
      const hook = await listed();
      assert.deepEqual([hook.events, hook.allow_private, hook.secret], [['created'], true, undefined]);
      await page.getByRole('button', { name: 'I have copied it' }).click();

      // A new ticket's `created` event reaches the receiver and the delivery log.
      const people = await api(hub.base, adminToken, '/users');
      const customer = people.items.find((user) => user.role === 'customer');
      await api(hub.base, adminToken, '/tickets', { method: 'POST', body: { subject: `Hook ${width}`, body: 'Hello', requester_id: customer.id } });
      await waitFor(() => received.some((request) => request.body.type === 'created'), { timeout: 10_000, message: 'the delivery' });
      assert.match(received[0].signature, /^t=\d+,v1=[0-9a-f]{64}$/);
      await row.getByRole('button', { name: 'Delivery log' }).click();
      const log = page.locator('.delivery-log');
      await log.locator('tbody tr', { hasText: 'Delivered' }).first().waitFor();
      await screenshot(page, `webhooks-log-${width}`);

      await log.getByRole('button', { name: 'Redeliver' }).first().click();
      await waitFor(() => received.filter((request) => request.body.type === 'created').length === 2, { timeout: 10_000, message: 'the redelivery' });

      await page.getByLabel(`Enabled: ${url}`).uncheck();
      await waitFor(async () => (await listed()).active === false, { message: 'the webhook switched off' });
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });
  }
});
