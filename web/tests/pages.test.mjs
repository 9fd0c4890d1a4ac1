// Every page of the console, as each staff role, at a laptop's width and a phone's: the list of
// pages is the console's own route table (`ROUTES` in app.js, read in the page), so a page added
// later is visited without touching this file. Each page must render (no skeleton left), never
// scroll sideways, log no console error, and leave a screenshot for review in
// web/tests/screenshots/page-<role>-<width>-<page>.png. A page the role may not use shows
// "Not allowed" and the navigation does not offer it (an agent opening #/admin).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

const WIDTHS = [[1280, 800], [390, 844]];
const ROLES = { admin: DEMO.admin, agent: DEMO.agent };

/** What every page must have rendered before it is measured: its main region, no skeleton. */
async function rendered(page, what) {
  await page.waitForFunction(() => document.querySelector('main') && !document.querySelector('main[aria-busy="true"], .skeleton'), null, { timeout: 10_000 })
    .catch((error) => assert.fail(`${what} did not finish rendering: ${error.message}`));
}

/** Waits until no API request has been in flight for a moment (so late panels are in the shot). */
function quietNetwork(page) {
  const inFlight = new Set();
  page.on('request', (request) => request.url().includes('/api/') && inFlight.add(request));
  page.on('requestfinished', (request) => inFlight.delete(request));
  page.on('requestfailed', (request) => inFlight.delete(request));
  let quietSince = Date.now();
  return () => waitFor(() => {
    if (inFlight.size) quietSince = Date.now();
    return Date.now() - quietSince > 300;
  }, { timeout: 10_000, interval: 50, message: 'API requests to settle' });
}

/** Elements sticking out past the viewport's right edge (to say what overflows, if anything). */
function overflowing(page) {
  return page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 6)
    .map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join('.')} right=${Math.round(element.getBoundingClientRect().right)}`));
}

describe('every page, both roles, both widths', () => {
  let hub;
  let browser;
  let ticketId;
  let companyId;
  let articleId;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    const token = await apiLogin(hub.base, DEMO.agent);
    const tickets = await api(hub.base, token, '/tickets?limit=50');
    // A ticket with a conversation, so its page shows a thread.
    ticketId = (tickets.items.find((ticket) => ticket.channel === 'whatsapp') ?? tickets.items[0]).id;
    companyId = (await api(hub.base, token, '/companies')).items[0].id;
    articleId = (await api(hub.base, token, '/kb/articles?limit=1')).items[0].id;
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [role, email] of Object.entries(ROLES)) {
    for (const [width, height] of WIDTHS) {
      test(`${role} at ${width} px: every page renders, fits the width and logs no error`, async () => {
        const page = await newPage(browser, { width, height });
        const settle = quietNetwork(page);
        await login(page, hub.base, email);
        await page.goto(`${hub.base}/#/queue`);
        await page.locator('.connection.live').waitFor();
        const routes = await page.evaluate(async () => {
          const { ROUTES } = await import('/app.js');
          return ROUTES.map((entry) => ({ path: entry.path, label: entry.label ?? null, allowed: !entry.shown || entry.shown() }));
        });
        const paths = routes.map((route) => route.path);
        for (const known of ['#/queue', '#/conversations', '#/presence', '#/admin', '#/tickets/:id', '#/preferences']) {
          assert.ok(paths.includes(known), `the route table lists ${known}: ${paths}`);
        }
        const admin = routes.find((route) => route.path === '#/admin');
        assert.equal(admin.allowed, role === 'admin', 'only an admin may use #/admin');

        for (const route of routes) {
          const hash = route.path.replace(/:(\w+)/g, (_, name) => {
            if (name === 'id' && route.path.startsWith('#/tickets/')) return String(ticketId);
            if (name === 'id' && route.path.startsWith('#/companies/')) return String(companyId);
            if (name === 'id' && route.path.startsWith('#/kb/')) return String(articleId);
            throw new Error(`no value for :${name} in ${route.path}: add one to pages.test.mjs`);
          });
          await page.goto(`${hub.base}/${hash}`);
          await rendered(page, `${role} ${hash}`);
          await settle();
          const link = page.locator(`nav[aria-label="Main"] a[href="${route.path}"]`);
          if (route.allowed) {
            assert.equal(await page.locator('[data-not-allowed]').count(), 0, `${hash} opens for ${role}`);
            if (route.label) assert.equal(await link.count(), 1, `the navigation offers ${hash} to ${role}`);
          } else {
            await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
            assert.equal(await link.count(), 0, `the navigation does not offer ${hash} to ${role}`);
            // Nothing of the page's own: no form, no table of what the role may not see.
            assert.equal(await page.locator('main form, main table').count(), 0, `${hash} shows no controls to ${role}`);
          }
          if (hash.startsWith('#/tickets/')) await page.locator('.ticket-head h1').waitFor();
          const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
          assert.ok(fits, `${role} ${hash} at ${width} px scrolls sideways: ${(await overflowing(page)).join(', ')}`);
          const name = route.path.replace(/^#\//, '').replace(/\/:\w+/g, '') || 'root';
          await screenshot(page, `page-${role}-${width}-${name}`);
        }

        if (width < 720) {
          // The sidebar is a menu on a phone: it opens over the page, offers the same pages, fits.
          const toggle = page.getByRole('button', { name: 'Menu' });
          await toggle.click();
          assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
          const menu = page.locator('nav[aria-label="Main"]');
          await menu.getByRole('link', { name: 'Queue' }).waitFor();
          assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the open menu fits');
          await screenshot(page, `page-${role}-${width}-menu`);
          await menu.getByRole('link', { name: 'Queue' }).click();
          await menu.getByRole('link', { name: 'Queue' }).waitFor({ state: 'hidden' });
          // Escape closes it too.
          await toggle.click();
          await menu.getByRole('link', { name: 'Queue' }).waitFor();
          await page.keyboard.press('Escape');
          await menu.getByRole('link', { name: 'Queue' }).waitFor({ state: 'hidden' });
          assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
        }
        assert.deepEqual(consoleErrors(page), []);
        await page.context().close();
      });
    }
  }
  test('a customer who reaches the console is sent to the customer portal, from every page', async () => {
    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, hub.base, 'carla@acme.test');
    // The console is at /agent (`/` shows a signed-in customer the public landing page).
    for (const hash of ['#/queue', '#/admin', '#/presence', `#/tickets/${ticketId}`]) {
      await page.goto(`${hub.base}/agent${hash}`);
      await page.waitForURL(/\/portal$/);
      await page.getByRole('heading', { name: 'Your requests' }).waitFor();
      assert.equal(await page.locator('nav[aria-label="Main"]').count(), 0, `${hash}: no staff navigation`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    }
    await screenshot(page, 'page-customer-390-portal');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
