// The audit log in the console (issue 17 item 6): an admin changes a team, finds the entry on
// the Audit log page, filters by action (the filter lands in the URL and survives a reload),
// and downloads the same filter as CSV; an agent has no such page. At 1280 and 390 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub } from './harness.mjs';

describe('the audit log in the console', () => {
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

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`an admin filters the log and downloads it (${width} px)`, async () => {
      const token = await apiLogin(hub.base, DEMO.admin);
      const name = `Audited ${width}`;
      await api(hub.base, token, '/teams', { method: 'POST', body: { name } });

      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      // The people list is held back until the filter is typed: its arrival re-renders the form,
      // which once dropped what had been typed.
      let releasePeople;
      const peopleHeld = new Promise((resolve) => { releasePeople = resolve; });
      let held = 0;
      await page.context().route('**/api/v1/users', async (route) => {
        held += 1;
        await peopleHeld;
        await route.continue();
      });
      await page.goto(`${hub.base}/#/audit`);
      const filters = page.getByRole('form', { name: 'Audit log filters' });
      await filters.waitFor();
      await page.getByRole('row').filter({ hasText: name }).waitFor();

      const action = filters.getByLabel('Action');
      await action.fill('team.created');
      assert.ok(held > 0, 'the people list was held back');
      releasePeople();
      await filters.locator('option', { hasText: 'Ada Admin' }).waitFor({ state: 'attached' });
      assert.equal(await action.inputValue(), 'team.created', 'the people list arriving kept what was typed');
      await page.context().unroute('**/api/v1/users');
      await filters.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/#\/audit\?action=team.created/);
      await page.reload();
      const rows = page.getByRole('row').filter({ hasText: 'team.created' });
      await rows.first().waitFor();
      assert.equal(await page.getByRole('row').filter({ hasText: 'auth.login' }).count(), 0, 'only the action filtered');
      assert.ok((await rows.first().textContent()).includes(name));
      await screenshot(page, `audit-${width}-filtered`);

      const link = page.getByRole('link', { name: 'Download CSV' });
      const href = await link.getAttribute('href');
      assert.equal(href, '/api/v1/audit?action=team.created&format=csv');
      const csv = await page.evaluate(async (path) => (await fetch(path, { credentials: 'same-origin' })).text(), href);
      assert.ok(csv.startsWith('id,at,actor_id,actor_ip,action'), csv.slice(0, 80));
      assert.ok(csv.includes(name));
      assert.deepEqual(consoleErrors(page), []);
    });
  }

  test('an agent has no audit log', async () => {
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/queue`);
    await page.getByRole('navigation').first().waitFor();
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
    const token = await apiLogin(hub.base, DEMO.agent);
    await assert.rejects(api(hub.base, token, '/audit'));
  });
});
