// The query language and saved views in the console: a query typed in the queue narrows the list
// and lives in the URL (a reload keeps it), a query that does not parse says where, the current
// query is saved as a view, and the view's count in the sidebar moves live when another agent
// changes a ticket into it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, sandboxSend, screenshot, startHub, waitFor } from './harness.mjs';

describe('queries and saved views', () => {
  let hub;
  let browser;
  let agentToken;
  let otherToken;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    agentToken = await apiLogin(hub.base, DEMO.agent);
    otherToken = await apiLogin(hub.base, DEMO.agent2);
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`a query is kept in the URL, saved as a view, and its count moves live (${width} px)`, async () => {
      const waId = `55219${String(Date.now()).slice(-8)}${width % 10}`;
      const subject = `Views ${waId}`;
      await sandboxSend(hub.base, { wa_id: waId, name: 'View Customer', text: subject });
      const ticket = await waitFor(async () => {
        const page = await api(hub.base, agentToken, '/tickets?channel=whatsapp&limit=200');
        return page.items.find((candidate) => candidate.subject === subject);
      }, { message: 'the sandbox ticket' });
      const tag = `watch${width}`;

      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      await page.goto(`${hub.base}/#/queue`);
      const query = page.locator('#queue-query');
      await query.waitFor();

      // An error says where the query stopped making sense.
      await query.fill('status:');
      await page.locator('.query-error', { hasText: 'expected a value' }).waitFor();
      assert.equal(await query.getAttribute('aria-invalid'), 'true');

      // A query narrows the list (the server decides), and the URL keeps it.
      await query.fill(`"${waId}"`);
      await page.locator('table.tickets tbody tr', { hasText: subject }).waitFor();
      await waitFor(async () => (await page.locator('table.tickets tbody tr').count()) === 1, { message: 'only the phrase matches' });
      await waitFor(async () => decodeURIComponent(page.url()).includes(`q="${waId}"`), { message: 'the query in the URL' });
      await page.reload();
      await page.locator('table.tickets tbody tr', { hasText: subject }).waitFor();
      assert.equal(await page.locator('#queue-query').inputValue(), `"${waId}"`, 'the reload kept the query');

      // Saved as a view: the sidebar lists it with its count.
      await page.locator('#queue-query').fill(`tag:${tag}`);
      await page.locator('.empty').waitFor();
      await page.getByRole('button', { name: 'Save as view' }).click();
      await page.getByLabel('Name').fill(`Watched ${width}`);
      await page.getByRole('button', { name: 'Save view' }).click();
      const link = page.locator('.sidebar a', { hasText: `Watched ${width}` });
      await link.waitFor();
      await waitFor(async () => (await link.locator('.count').textContent()) === '0', { message: 'count 0' });
      await page.locator('h1', { hasText: `Watched ${width}` }).waitFor();
      await screenshot(page, `views-saved-${width}`);

      // Another agent tags the ticket: the count moves and the row appears, without a reload.
      await api(hub.base, otherToken, `/tickets/${ticket.id}`, { method: 'PATCH', body: { add_tags: [tag] } });
      await waitFor(async () => (await link.locator('.count').textContent()) === '1', { message: 'the live count' });
      await page.locator('table.tickets tbody tr', { hasText: subject }).waitFor();
      await screenshot(page, `views-live-${width}`);

      // A link to the view opens it with its query.
      await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
      await link.click();
      await page.locator('h1', { hasText: `Watched ${width}` }).waitFor();
      assert.equal(await page.locator('#queue-query').inputValue(), `tag:${tag}`);
      // The one refusal on purpose: the query that does not parse.
      assert.deepEqual(consoleErrors(page, { ignore: [/400 \(Bad Request\).*q=status%3A(&|:|\))/] }), []);
      await page.close();
    });
  }
});
