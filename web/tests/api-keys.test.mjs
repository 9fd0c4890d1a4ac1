// API keys in the console (issue 17 item 4): an agent makes a key from Preferences (only the
// scopes an agent holds are offered), sees it once, uses it, finds it listed with its last use,
// and revokes it (the key is refused from then on). At 1280 and 390 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub } from './harness.mjs';

describe('API keys in the console', () => {
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
    test(`an agent makes, uses, sees and revokes a key (${width} px)`, async () => {
      const page = await newPage(browser, { width, height });
      page.on('dialog', (dialog) => dialog.accept());
      await login(page, hub.base, DEMO.agent);
      await page.goto(`${hub.base}/#/preferences`);
      await page.getByRole('link', { name: 'Manage your API keys' }).click();
      const form = page.getByRole('form', { name: 'New key' });
      await form.waitFor();
      assert.equal(await form.getByRole('checkbox', { name: 'admin' }).count(), 0, 'agents are not offered admin');
      const name = `Sync ${width}`;
      await form.getByLabel('Name').fill(name);
      await form.getByRole('checkbox', { name: 'users:read' }).check();
      await form.getByRole('button', { name: 'Create key' }).click();
      const shown = page.locator('[data-key]');
      await shown.waitFor();
      const key = (await shown.textContent()).trim();
      assert.match(key, /^sbk_[A-Za-z0-9_-]{43}$/);
      await screenshot(page, `api-keys-${width}-created`);

      // The key works as the agent; the list shows its prefix and its last use.
      const who = await api(hub.base, key, '/me');
      assert.equal(who.email, DEMO.agent);
      await page.reload();
      const row = page.getByRole('row').filter({ hasText: name });
      await row.waitFor();
      assert.ok((await row.textContent()).includes(key.slice(0, 12)), 'the prefix is listed');
      assert.ok(!(await page.content()).includes(key), 'the key itself is never shown again');
      assert.ok(!(await row.textContent()).includes('never'), 'its last use is listed');
      await screenshot(page, `api-keys-${width}-listed`);

      await row.getByRole('button', { name: `Revoke ${name}` }).click();
      await row.waitFor({ state: 'detached' });
      const refused = await fetch(`${hub.base}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(refused.status, 401);
      const agentToken = await apiLogin(hub.base, DEMO.agent);
      const left = await api(hub.base, agentToken, '/api-keys');
      assert.ok(!left.items.some((item) => item.name === name));
      assert.deepEqual(consoleErrors(page), []);
    });
  }
});
