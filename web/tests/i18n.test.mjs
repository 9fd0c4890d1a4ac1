// The console in the person's language (issue 14 item 5): an agent whose profile says Spanish
// gets the queue, a ticket and the preferences in Spanish at a laptop's width and a phone's,
// with no English left in the navigation and no catalog key showing; switching to Portuguese in
// Preferences changes the page at once (and is kept in the profile); a Portuguese browser with
// no profile language gets Portuguese; an admin in Spanish sees every page of the route table
// without a missing text. Screenshots: i18n-<language>-<width>-<page>.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, screenshot, startHub, collectConsoleErrors } from './harness.mjs';

const WIDTHS = [[1280, 800], [390, 844]];

/** What the main navigation, the sidebar and the header say in English: none of it may show. */
const ENGLISH_NAVIGATION = ['Queue', 'Presence', 'Reports', 'Knowledge base', 'Views', 'Open queue', 'Log out', 'Skip to content'];

/** A page in a fresh context (own cookies) at one width, in the browser language `locale`. */
async function localePage(browser, { width, height }, locale = 'en-US') {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  const page = await context.newPage();
  collectConsoleErrors(page);
  return page;
}

/** Fails when a catalog key (a text missing from every catalog) shows anywhere on the page. */
async function noMissingTexts(page, where) {
  const keys = await page.evaluate(() => {
    const found = document.body.innerText.match(/\bconsole\.[a-z_][\w.]*/g) || [];
    const attributes = [...document.querySelectorAll('[aria-label], [title], [placeholder]')]
      .flatMap((element) => ['aria-label', 'title', 'placeholder'].map((name) => element.getAttribute(name) || ''))
      .filter((text) => /^console\.[a-z_]/.test(text));
    return [...found, ...attributes];
  });
  assert.deepEqual(keys, [], `${where}: texts missing from the catalogs`);
}

/** The texts of the navigation, the sidebar and the header, as one string. */
const chromeText = (page) => page.evaluate(() => ['header.top', '#navigation'].map((selector) => document.querySelector(selector)?.textContent || '').join(' '));

describe('the console in the person\'s language', () => {
  let hub;
  let browser;
  let ticketId;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    const token = await apiLogin(hub.base, DEMO.agent2);
    const me = await api(hub.base, token, '/me', { method: 'PATCH', body: { language: 'es' } });
    assert.equal(me.languages[0], 'spa');
    const tickets = await api(hub.base, token, '/tickets?limit=50');
    ticketId = (tickets.items.find((ticket) => ticket.channel === 'whatsapp') ?? tickets.items[0]).id;
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of WIDTHS) {
    test(`a Spanish-speaking agent sees the queue, a ticket and the preferences in Spanish (${width} px)`, async () => {
      // The browser says English: the profile wins.
      const page = await localePage(browser, { width, height }, 'en-US');
      await login(page, hub.base, DEMO.agent2);
      await page.goto(`${hub.base}/#/queue`);
      await page.getByRole('heading', { name: /^Cola/ }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');
      await page.locator('.connection.live', { hasText: 'En directo' }).waitFor();
      await page.locator('table.tickets tbody tr').first().waitFor();
      assert.equal(await page.locator('table.tickets th', { hasText: 'Asunto' }).count(), 1);
      const navigation = page.locator('nav[aria-label="Principal"]');
      assert.equal(await navigation.count(), 1, 'the main navigation is labelled in Spanish');
      const links = (await navigation.locator('a').allTextContents()).map((text) => text.trim());
      assert.ok(links.includes('Cola') && links.includes('Informes') && links.includes('Base de conocimiento'), `Spanish links: ${links}`);
      const chrome = await chromeText(page);
      for (const english of ENGLISH_NAVIGATION) assert.ok(!chrome.includes(english), `"${english}" left in the navigation: ${chrome}`);
      assert.ok(chrome.includes('Vistas') && chrome.includes('Cerrar sesión'), chrome);
      await noMissingTexts(page, 'the queue');
      await screenshot(page, `i18n-es-${width}-queue`);

      await page.goto(`${hub.base}/#/tickets/${ticketId}`);
      await page.locator('.ticket-head h1').waitFor();
      await page.getByRole('heading', { name: 'Propiedades' }).waitFor();
      await page.getByLabel('Nota interna', { exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Enviar', exact: true }).count(), 1);
      assert.equal(await page.getByRole('button', { name: 'Enviar y resolver' }).count(), 1);
      await noMissingTexts(page, 'the ticket page');
      await screenshot(page, `i18n-es-${width}-ticket`);

      await page.goto(`${hub.base}/#/preferences`);
      await page.getByRole('heading', { name: 'Preferencias', exact: true }).waitFor();
      assert.equal(await page.locator('select[name="language"]').inputValue(), 'es');
      await page.getByLabel('Alguien me @menciona en una nota').waitFor();
      await noMissingTexts(page, 'the preferences');
      await screenshot(page, `i18n-es-${width}-preferences`);
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });
  }

  test('choosing Portuguese in Preferences changes the console at once and is kept', async () => {
    const page = await localePage(browser, { width: 1280, height: 800 }, 'en-US');
    const { token } = await login(page, hub.base, DEMO.agent2);
    await page.goto(`${hub.base}/#/preferences`);
    await page.getByRole('heading', { name: 'Preferencias', exact: true }).waitFor();
    await page.locator('select[name="language"]').selectOption('pt');
    await page.getByRole('heading', { name: 'Preferências', exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt');
    const links = (await page.locator('nav[aria-label="Principal"] a').allTextContents()).map((text) => text.trim());
    assert.ok(links.includes('Fila') && links.includes('Relatórios'), `Portuguese links: ${links}`);
    await page.getByLabel('Alguém me @menciona em uma nota').waitFor();
    await page.getByText('Salvo.').waitFor();
    assert.equal((await api(hub.base, token, '/me')).languages[0], 'por');
    await screenshot(page, 'i18n-pt-1280-preferences');

    // The next visit starts in Portuguese.
    await page.goto(`${hub.base}/#/queue`);
    await page.reload();
    await page.getByRole('heading', { name: /^Fila/ }).waitFor();
    await noMissingTexts(page, 'the queue in Portuguese');
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });

  test('a Portuguese browser and no profile language get the console in Portuguese', async () => {
    const page = await localePage(browser, { width: 390, height: 844 }, 'pt-BR');
    // Before signing in: the login page follows the browser.
    await page.goto(`${hub.base}/agent`);
    await page.getByRole('heading', { name: 'Entre no Switchboard' }).waitFor();
    await noMissingTexts(page, 'the login page');
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/queue`);
    await page.getByRole('heading', { name: /^Fila/ }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt');
    await page.getByRole('button', { name: 'Menu' }).click();
    const links = (await page.locator('nav[aria-label="Principal"] a').allTextContents()).map((text) => text.trim());
    assert.ok(links.includes('Fila') && links.includes('Base de conhecimento'), `Portuguese links: ${links}`);
    const chrome = await chromeText(page);
    for (const english of ENGLISH_NAVIGATION) assert.ok(!chrome.includes(english), `"${english}" left in the navigation: ${chrome}`);
    await noMissingTexts(page, 'the queue');
    await screenshot(page, 'i18n-pt-390-queue');
    assert.deepEqual(consoleErrors(page, { ignore: [/401/] }), []);
    await page.context().close();
  });

  test('an admin in Spanish sees every page of the route table with no text missing', async () => {
    const adminToken = await apiLogin(hub.base, DEMO.admin);
    await api(hub.base, adminToken, '/me', { method: 'PATCH', body: { language: 'es' } });
    const token = await apiLogin(hub.base, DEMO.agent);
    const companyId = (await api(hub.base, token, '/companies')).items[0].id;
    const articleId = (await api(hub.base, token, '/kb/articles?limit=1')).items[0].id;
    const page = await localePage(browser, { width: 1280, height: 800 }, 'en-US');
    await login(page, hub.base, DEMO.admin);
    await page.goto(`${hub.base}/#/queue`);
    await page.locator('.connection.live').waitFor();
    const paths = await page.evaluate(async () => (await import('/app.js')).ROUTES.map((entry) => entry.path));
    for (const path of paths) {
      const hash = path.replace(':id', String(path.startsWith('#/tickets/') ? ticketId : path.startsWith('#/companies/') ? companyId : articleId));
      await page.goto(`${hub.base}/${hash}`);
      await page.waitForFunction(() => document.querySelector('main') && !document.querySelector('main[aria-busy="true"], .skeleton'), null, { timeout: 10_000 });
      if (hash.startsWith('#/tickets/')) await page.locator('.ticket-head h1').waitFor();
      await page.waitForTimeout(300);
      await noMissingTexts(page, hash);
      const name = path.replace(/^#\//, '').replace(/\/:\w+/g, '');
      await screenshot(page, `i18n-es-admin-1280-${name}`);
    }
    assert.deepEqual(consoleErrors(page), []);
    await page.context().close();
  });
});
