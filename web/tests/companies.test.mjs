// Companies (issue 14 item 6): an admin adds a company with a domain from the keyboard, sees it
// in the list, opens it, edits its name, domains, sharing and SLA tier, sees a refusal naming a
// domain another company holds, sees the members of a company, and follows the link to its
// tickets in the queue. At 1280 and 390 px; nothing scrolls sideways on the phone. Agents are
// not offered the page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

const fits = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

describe('companies in the console', () => {
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
    test(`an admin adds a company with a domain, edits it and finds its tickets (${width} px)`, async () => {
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      await page.goto(`${hub.base}/#/queue`);
      if (width < 900) await page.getByRole('button', { name: 'Menu' }).click();
      await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Companies' }).click();
      await page.getByRole('heading', { name: 'Companies', level: 1 }).waitFor();

      // The demo's company is listed with its members and domain.
      const acmeRow = page.locator('table.companies-list tbody tr', { hasText: 'Acme Ltd' });
      await acmeRow.waitFor();
      assert.equal((await acmeRow.locator('.member-count').textContent()).trim(), '2');
      assert.match(await acmeRow.textContent(), /acme\.test/);

      // Add one from the keyboard: type, Tab through, Enter submits.
      const name = `Initech ${width}`;
      const form = page.getByRole('form', { name: 'Add a company' });
      await form.getByLabel('Name').fill(name);
      await form.getByLabel('Domains').fill(`Initech${width}.example`);
      await form.getByLabel('SLA tier').selectOption('high');
      await form.getByLabel('Domains').press('Enter');
      const row = page.locator('table.companies-list tbody tr', { hasText: name });
      await row.waitFor();
      assert.match(await row.textContent(), new RegExp(`initech${width}\\.example`), 'the domain, lower-cased');
      assert.match(await row.textContent(), /High/);
      assert.equal((await row.locator('.member-count').textContent()).trim(), '0');
      assert.ok(await fits(page), `the list scrolls sideways at ${width} px`);
      await screenshot(page, `companies-${width}-list`);

      // A domain another company holds is refused, naming it; nothing is added.
      await form.getByLabel('Name').fill(`Copycat ${width}`);
      await form.getByLabel('Domains').fill('acme.test');
      await form.getByRole('button', { name: 'Add company' }).click();
      await page.getByRole('alert').filter({ hasText: 'acme.test' }).waitFor();
      assert.equal(await page.locator('table.companies-list tbody tr', { hasText: `Copycat ${width}` }).count(), 0);

      // Open it (keyboard: the name is a link) and edit every field.
      await row.getByRole('link', { name }).focus();
      await page.keyboard.press('Enter');
      const detail = page.locator('[data-company-detail]');
      await detail.getByRole('heading', { name, level: 2 }).waitFor();
      const edit = page.getByRole('form', { name: `Edit ${name}` });
      await edit.getByLabel('Name').fill(`${name} Ltd`);
      await edit.getByLabel('Domains').fill(`initech${width}.example, initech${width}.test`);
      await edit.getByLabel('SLA tier').selectOption('urgent');
      await edit.getByLabel('Members see company tickets').check();
      await edit.getByLabel('…and write on them').check();
      await edit.getByRole('button', { name: 'Save company' }).click();
      await edit.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const companies = await api(hub.base, adminToken, '/companies');
      const saved = companies.items.find((company) => company.name === `${name} Ltd`);
      assert.ok(saved, `the change reached the server: ${JSON.stringify(companies.items)}`);
      assert.deepEqual(saved.domains, [`initech${width}.example`, `initech${width}.test`]);
      assert.equal(saved.sla_tier, 'urgent');
      assert.equal(saved.members_see_company_tickets, true);
      assert.equal(saved.members_write_company_tickets, true);
      const renamed = page.locator('table.companies-list tbody tr', { hasText: `${name} Ltd` });
      await renamed.filter({ hasText: 'Urgent' }).waitFor();
      assert.match(await renamed.textContent(), /see and write/);
      assert.equal(await detail.getByText('No members yet.').count(), 1);
      assert.ok(await fits(page), `the company page scrolls sideways at ${width} px`);
      await screenshot(page, `companies-${width}-edit`);

      // The demo company's members, and its tickets in the queue.
      await page.goto(`${hub.base}/#/companies`);
      await acmeRow.getByRole('link', { name: 'Acme Ltd' }).click();
      const members = page.locator('table.company-members tbody');
      await members.getByText('carla@acme.test').waitFor();
      await members.getByText('dan@acme.test').waitFor();
      assert.ok(await fits(page), `the members list scrolls sideways at ${width} px`);
      await detail.getByRole('link', { name: "Open Acme Ltd's tickets in the queue" }).click();
      await waitFor(() => page.evaluate(() => location.hash.startsWith('#/queue?')), { message: 'the queue opened' });
      await waitFor(async () => (await page.locator('#queue-query').inputValue()) === 'company: "Acme Ltd"', { message: 'the company query in the queue' });
      await page.locator('table.tickets tbody tr').first().waitFor();
      // Only the refused copy (Chromium logs the 409 it was answered).
      assert.deepEqual(consoleErrors(page, { ignore: [/409 \(Conflict\).*\/api\/v1\/companies\b/] }), []);
      await page.context().close();
    });
  }

  test('an agent is not offered the companies page', async () => {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/companies`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    assert.equal(await page.locator('nav[aria-label="Main"] a[href="#/companies"]').count(), 0);
    assert.equal(await page.locator('main form, main table').count(), 0);
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
