// The console as an installable app: the manifest and icons, the service worker registering and
// controlling the page, a ticket opened before read again with the network off (its subject and
// messages from the worker's copy, not the server's), and a write made offline failing in front
// of the user, never kept or replayed once the network is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

/** Whether any of the page's caches holds `path` (names are the worker's business). */
const cached = (page, path) => page.evaluate((url) => caches.match(url).then(Boolean), path);

/** Every cached response's text, to search for something that must never be kept. */
const cachedTexts = (page) => page.evaluate(async () => {
  const texts = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) texts.push(`${request.method} ${request.url}\n${await (await cache.match(request)).text()}`);
  }
  return texts;
});

describe('installable, readable offline', () => {
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

  test('the manifest names the app and its icons, which load', async () => {
    const response = await fetch(`${hub.base}/manifest.webmanifest`);
    assert.equal(response.headers.get('content-type'), 'application/manifest+json');
    const manifest = await response.json();
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.theme_color, '#3B82F6');
    for (const icon of manifest.icons) {
      const file = await fetch(`${hub.base}${icon.src}`);
      assert.equal(file.status, 200, icon.src);
      assert.equal(file.headers.get('content-type'), icon.type, icon.src);
      if (icon.type === 'image/png') {
        const bytes = Buffer.from(await file.arrayBuffer());
        const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
        assert.equal(`${width}x${height}`, icon.sizes, `${icon.src} is the size it claims`);
      }
    }
  });

  test('a ticket opened before reads offline; a reply sent offline fails and is never replayed', async () => {
    const requester = (await api(hub.base, token, '/tickets?limit=1')).items[0].requester_id;
    const subject = `Offline ${Date.now()}`;
    const ticket = await api(hub.base, token, '/tickets', { method: 'POST', body: { subject, body: 'Readable on the train.', requester_id: requester } });

    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/queue`);
    await page.locator('.connection.live').waitFor();
    // Registered, active, in control of this page (it claims the pages open when it activates).
    await page.waitForFunction(() => navigator.serviceWorker.controller?.scriptURL.endsWith('/sw.js'), null, { timeout: 10_000 });
    // The app shell is kept: the entry files at install, the rest from the list the page sends.
    for (const path of ['/', '/app.js', '/app.css', '/pages/ticket.js', '/lib/api.js', '/vendor/preact/preact.mjs']) {
      await waitFor(() => cached(page, path), { message: `${path} in the worker's cache` });
    }

    // Open the ticket (the page is controlled now, so its reads go through the worker).
    await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
    await page.locator('.ticket-head h1', { hasText: subject }).waitFor();
    await page.locator('.message', { hasText: 'Readable on the train.' }).waitFor();
    await waitFor(() => cached(page, `/api/v1/tickets/${ticket.id}`), { message: 'the ticket read in the cache' });
    await waitFor(() => cached(page, `/api/v1/tickets/${ticket.id}/events`), { message: 'its events in the cache' });

    // Offline, the server's copy moves on (renamed from outside the browser): the page can only
    // show the copy the worker kept.
    await page.context().setOffline(true);
    await api(hub.base, token, `/tickets/${ticket.id}`, { method: 'PATCH', body: { subject: `${subject} (renamed online)` } });
    const fromWorker = [];
    page.on('response', (response) => response.url().endsWith(`/api/v1/tickets/${ticket.id}`) && fromWorker.push(response.fromServiceWorker()));
    await page.reload();
    await page.locator('.ticket-head h1', { hasText: subject }).waitFor();
    await page.locator('.message', { hasText: 'Readable on the train.' }).waitFor();
    assert.equal(await page.locator('.ticket-head h1', { hasText: 'renamed online' }).count(), 0, 'the kept copy, not the network');
    assert.deepEqual(fromWorker, [true], 'the ticket came from the service worker');
    assert.equal(await page.evaluate(() => fetch('/readyz').then(() => 'reached', () => 'unreachable')), 'unreachable', 'the network is really off');
    await screenshot(page, 'pwa-offline-ticket-390');

    // A reply written offline: the request fails in front of the agent...
    const offlineText = `Written offline ${Date.now()}`;
    await page.getByLabel('Internal note').check();
    await page.fill('#reply-body', offlineText);
    await page.getByRole('button', { name: 'Add note', exact: true }).click();
    await page.locator('.notice[role=alert]').waitFor();
    await page.context().setOffline(false);
    // ...and once the network is back nothing sends it: the server never has it, no cache holds it.
    await page.reload();
    await page.locator('.connection.live').waitFor();
    await page.locator('.ticket-head h1', { hasText: 'renamed online' }).waitFor();
    const messages = (await api(hub.base, token, `/tickets/${ticket.id}`)).messages;
    assert.ok(!messages.some((message) => message.body.includes(offlineText)), 'the offline reply was not replayed');
    assert.ok(!(await cachedTexts(page)).some((text) => text.includes(offlineText)), 'the offline reply is in no cache');
    assert.equal(await page.locator('.message', { hasText: offlineText }).count(), 0);
    // Chromium logs the requests the offline page could not make; nothing else may appear.
    assert.deepEqual(consoleErrors(page, { ignore: [/net::ERR_INTERNET_DISCONNECTED|Failed to fetch|Failed to load resource|WebSocket/] }), []);

    // Logging out forgets the kept API reads (the app shell stays).
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('input[name=email]').waitFor();
    await waitFor(async () => !(await cached(page, `/api/v1/tickets/${ticket.id}`)) && !(await cached(page, '/api/v1/me')), { message: 'the API reads forgotten' });
    assert.ok(await cached(page, '/app.js'), 'the shell stays');
    await page.context().close();
  });

  test('only the last 20 tickets opened are kept', async () => {
    const requester = (await api(hub.base, token, '/tickets?limit=1')).items[0].requester_id;
    const ids = [];
    for (let index = 0; index < 21; index += 1) {
      ids.push((await api(hub.base, token, '/tickets', { method: 'POST', body: { subject: `Kept ${index}`, body: 'hello', requester_id: requester } })).id);
    }
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/queue`);
    await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 10_000 });
    // Read one after another, as opening them would.
    for (const id of ids) await page.evaluate((ticket) => fetch(`/api/v1/tickets/${ticket}`).then((response) => response.text()), id);
    await waitFor(() => cached(page, `/api/v1/tickets/${ids[20]}`), { message: 'the last one kept' });
    await waitFor(async () => !(await cached(page, `/api/v1/tickets/${ids[0]}`)), { message: 'the first one dropped' });
    for (const id of ids.slice(1)) assert.ok(await cached(page, `/api/v1/tickets/${id}`), `ticket ${id} kept`);
    await page.context().close();
  });
});
