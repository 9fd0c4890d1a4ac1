// CSAT in the console (issue 14 item 4): an admin turns surveys on in the admin page (thumbs,
// the portal), the settings hold after a reload; a customer rates a resolved ticket through the
// portal's API and staff see the rating, credited to the agent who replied, in the ticket's
// thread. At 1280 and 390 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

describe('CSAT in the console', () => {
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
    test(`an admin turns CSAT on and staff see a rating on the ticket (${width} px)`, async () => {
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      await page.goto(`${hub.base}/#/admin`);
      const form = page.getByRole('form', { name: 'CSAT settings' });
      await form.waitFor();
      await form.getByLabel('Ask customers').check();
      await form.getByLabel('Scale').selectOption('thumbs');
      await form.getByLabel('days').fill('0');
      await form.getByRole('button', { name: 'Save CSAT settings' }).click();
      await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const saved = await api(hub.base, adminToken, '/account/csat');
      assert.equal(saved.enabled, true);
      assert.equal(saved.scale, 'thumbs');
      await page.reload();
      await page.getByRole('form', { name: 'CSAT settings' }).getByLabel('Ask customers').waitFor();
      assert.equal(await page.getByRole('form', { name: 'CSAT settings' }).getByLabel('Ask customers').isChecked(), true);
      await screenshot(page, `csat-${width}-settings`);

      // A customer's web ticket, answered and resolved by Ana, rated thumbs up.
      const email = `rater${width}@example.test`;
      const customer = await api(hub.base, adminToken, '/users', {
        method: 'POST', body: { email, name: `Rater ${width}`, role: 'customer', password: 'rater-password-1' },
      });
      const customerToken = await apiLogin(hub.base, email, 'rater-password-1');
      const ticket = await api(hub.base, customerToken, '/tickets', { method: 'POST', body: { subject: `Rate me ${width}`, body: 'Help' } });
      const agentToken = await apiLogin(hub.base, DEMO.agent);
      await api(hub.base, agentToken, `/tickets/${ticket.id}/messages`, { method: 'POST', body: { body: 'Done!' } });
      await api(hub.base, agentToken, `/tickets/${ticket.id}`, { method: 'PATCH', body: { status: 'resolved' } });
      await waitFor(async () => (await api(hub.base, customerToken, `/tickets/${ticket.id}/csat`)).survey?.status === 'pending', { message: 'the survey' });
      await api(hub.base, customerToken, `/tickets/${ticket.id}/csat`, { method: 'POST', body: { score: 5, comment: 'Thanks!' } });
      assert.ok(customer.id);

      await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
      const rating = page.locator('[data-system-event="csat_received"]');
      await rating.waitFor();
      // The agent's name replaces their id once the people list is in.
      await waitFor(async () => /Rated thumbs up — credited to Ana Agent/.test(await rating.textContent()), {
        message: 'the rating credited to Ana Agent by name',
      });
      assert.match(await page.locator('[data-system-event="csat_commented"]').textContent(), /Thanks!/);
      await screenshot(page, `csat-${width}-ticket`);
      assert.deepEqual(consoleErrors(page), []);
    });
  }
});
