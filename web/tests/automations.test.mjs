// Automation rules in the console (admins): the seeded rules are listed in run order, a rule is
// written in the editor with the query suggestions and a live dry run of what it matches now,
// created, and disabled and enabled again from the list; at 1280 and 390 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

describe('automation rules', () => {
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
    test(`an admin writes a rule with a live dry run and switches it off and on (${width} px)`, async () => {
      const name = `Open for a day ${width}`;
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      await page.goto(`${hub.base}/#/automations`);
      await page.locator('table.rules tbody tr', { hasText: 'Close resolved after 3 days' }).waitFor();

      await page.getByRole('button', { name: 'New rule' }).click();
      await page.getByLabel('Name').fill(name);
      const whileBox = page.locator('#rule-while');
      await whileBox.fill('status: new,open');
      await page.getByLabel(/^For/).fill('P1D');
      // The query box's suggestions, as in the queue.
      await page.locator('#rule-if').fill('urg');
      await page.locator('.rule-editor .suggestions button', { hasText: 'urgency:' }).click();
      assert.equal(await page.locator('#rule-if').inputValue(), 'urgency:');
      await page.locator('#rule-if').fill('');
      await page.getByLabel('Then (actions, JSON)').fill('[{"add_tags": ["stale"]}]');

      // The dry run lists what matches now, and when it would fire.
      const expected = (await api(hub.base, adminToken, '/tickets?q=status:new,open&limit=200')).items.length;
      assert.ok(expected > 0, 'the demo has open tickets');
      await page.locator('.dry-run', { hasText: `${expected} matching ticket` }).waitFor();
      await page.locator('.dry-run li', { hasText: 'fires' }).first().waitFor();
      // A query that does not parse is shown, not sent as a rule.
      await whileBox.fill('urgency: extreme');
      await page.locator('.dry-run .query-error').waitFor();
      await whileBox.fill('status: new,open');
      await page.locator('.dry-run', { hasText: `${expected} matching ticket` }).waitFor();
      await screenshot(page, `automations-editor-${width}`);

      await page.getByRole('button', { name: 'Create rule' }).click();
      const row = page.locator('table.rules tbody tr', { hasText: name });
      await row.waitFor();
      const created = () => api(hub.base, adminToken, '/automations').then((list) => list.items.find((rule) => rule.name === name));
      assert.deepEqual((await created()).when, { for: 'P1D', while: 'status: new,open', hours: 'calendar' });

      const enabled = page.getByLabel(`Enabled: ${name}`);
      await enabled.uncheck();
      await waitFor(async () => (await created()).enabled === false, { message: 'the rule disabled' });
      await enabled.check();
      await waitFor(async () => (await created()).enabled === true, { message: 'the rule enabled again' });

      await row.getByRole('button', { name: 'Run log' }).click();
      await page.locator('.run-log h2', { hasText: name }).waitFor();
      await screenshot(page, `automations-list-${width}`);
      // The one 400 is the dry run of the query that does not parse, shown above.
      assert.deepEqual(consoleErrors(page, { ignore: [/automations\/dry-run.*400|400.*automations\/dry-run/] }), []);
      await page.context().close();
    });
  }
});
