// Data protection in the browser (issue 17 item 7): a customer asks for a copy of their data from
// the portal's profile, an admin approves it on the admin page's Data protection section and both
// download the zip; the retention form refuses deletion before archiving and saves a good policy;
// an erasure asked from the portal and approved (both confirmed in a dialog) erases the profile.
// At 1280 and 390 px.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

/** The status and content type of a GET made by the page itself (its session cookie). */
async function fetched(page, path) {
  return page.evaluate(async (url) => {
    const response = await fetch(url, { credentials: 'same-origin' });
    return { status: response.status, type: response.headers.get('content-type') };
  }, path);
}

describe('data protection in the console and the portal', () => {
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
    test(`a portal request approved by an admin, retention, erasure (${width} px)`, async () => {
      const admin = await apiLogin(hub.base, DEMO.admin);
      const email = `gdpr-${width}@example.com`;
      const password = 'gdpr-password-1';
      const name = `Greta Datenschutz ${width}`;
      const customer = await api(hub.base, admin, '/users', { method: 'POST', body: { email, name, role: 'customer', password } });
      const customerToken = await apiLogin(hub.base, email, password);
      await api(hub.base, customerToken, '/tickets', { method: 'POST', body: { subject: 'My parcel', body: 'Where is it?' } });

      // The customer asks for a copy from the portal.
      const portal = await newPage(browser, { width, height });
      await login(portal, hub.base, email, password);
      await portal.goto(`${hub.base}/portal#/profile`);
      const yours = portal.getByRole('region', { name: 'Your data' });
      await yours.getByRole('button', { name: 'Request a copy' }).click();
      await yours.getByText('Copy of your data: waiting for the team').waitFor();

      // The admin approves it and downloads the zip.
      const desk = await newPage(browser, { width, height });
      await login(desk, hub.base, DEMO.admin);
      await desk.goto(`${hub.base}/#/admin`);
      const section = desk.getByRole('region', { name: 'Data protection' });
      const row = section.getByRole('row').filter({ hasText: name });
      await row.getByRole('button', { name: 'Approve' }).click();
      const download = row.getByRole('link', { name: 'Download (zip)' });
      await download.waitFor();
      assert.equal(await download.getAttribute('href'), `/api/v1/customers/${customer.id}/export`);
      assert.deepEqual(await fetched(desk, `/api/v1/customers/${customer.id}/export`), { status: 200, type: 'application/zip' });
      await screenshot(desk, `gdpr-${width}-admin`);

      // The customer downloads theirs.
      await portal.reload();
      const mine = portal.getByRole('region', { name: 'Your data' }).getByRole('link', { name: 'Download (zip)' });
      await mine.waitFor();
      const zip = await fetched(portal, await mine.getAttribute('href'));
      assert.deepEqual(zip, { status: 200, type: 'application/zip' });
      await screenshot(portal, `gdpr-${width}-portal`);

      // Retention: deletion before archiving is refused with the field, a good policy is saved.
      const retention = section.getByRole('form', { name: 'Retention of closed tickets' });
      await retention.getByLabel('Archive after (days)').fill('30');
      await retention.getByLabel('Delete after (days)').fill('10');
      await retention.getByRole('button', { name: 'Save retention' }).click();
      await retention.getByRole('alert').filter({ hasText: 'delete_after_days' }).waitFor();
      await retention.getByLabel('Delete after (days)').fill('365');
      await retention.getByRole('button', { name: 'Save retention' }).click();
      await retention.getByRole('status').waitFor();
      assert.deepEqual(await api(hub.base, admin, '/account/retention'), { archive_after_days: 30, delete_after_days: 365 });

      // Erasure: asked and approved, each confirmed in a dialog.
      portal.on('dialog', (dialog) => dialog.accept());
      desk.on('dialog', (dialog) => dialog.accept());
      await portal.getByRole('region', { name: 'Your data' }).getByRole('button', { name: 'Request erasure' }).click();
      await portal.getByText('Erasure: waiting for the team').waitFor();
      await desk.reload();
      const erase = desk.getByRole('region', { name: 'Data protection' }).getByRole('row')
        .filter({ hasText: name }).filter({ hasText: 'Erasure' });
      await erase.getByRole('button', { name: 'Approve' }).click();
      await erase.getByRole('button', { name: 'Approve' }).waitFor({ state: 'detached' });
      const profile = await waitFor(async () => {
        const read = await api(hub.base, admin, `/users/${customer.id}`);
        return read.name === '[erased]' && read;
      }, { message: 'the customer erased' });
      assert.equal(profile.active, false);
      // The one refusal on purpose: deletion before archiving.
      assert.deepEqual(consoleErrors(desk, { ignore: [/422 \(Unprocessable Entity\).*account\/retention/] }), []);
    });
  }

  test('an agent cannot see or decide data requests', async () => {
    const token = await apiLogin(hub.base, DEMO.agent);
    await assert.rejects(api(hub.base, token, '/data-requests'));
    await assert.rejects(api(hub.base, token, '/account/retention'));
  });
});
