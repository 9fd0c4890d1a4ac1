// The reply box's channels and the console without a mouse: an agent chooses WhatsApp or email
// per reply (email lands in the sandbox mailbox), and the whole path login → queue → ticket →
// reply works from the keyboard alone, with every control named, focus visible and text
// contrast at least 4.5:1 on the way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, apiLogin, api, consoleErrors, launchBrowser, login, newPage, sandboxFetch, sandboxPhone, sandboxSend, screenshot, startHub, waitFor } from './harness.mjs';

const ERIN_WHATSAPP = '5511987654321';
const ERIN_EMAIL = 'erin@example.test';

async function mailbox(base, address) {
  const response = await sandboxFetch(base, `/sandbox/mail/messages?address=${encodeURIComponent(address)}`);
  return (await response.json()).items;
}

async function writeEmail(base, letter) {
  const response = await sandboxFetch(base, '/sandbox/mail/send', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(letter),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Form controls and buttons on the page without an accessible name. */
function unnamedControls(page) {
  return page.evaluate(() => {
    const named = (element) => {
      if (element.getAttribute('aria-label')?.trim() || element.getAttribute('aria-labelledby')) return true;
      if (element.labels && [...element.labels].some((label) => label.textContent.trim())) return true;
      if (element.tagName === 'BUTTON') return element.textContent.trim() !== '';
      return Boolean(element.getAttribute('title'));
    };
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
      .filter((element) => element.offsetParent !== null && !named(element))
      .map((element) => element.outerHTML.slice(0, 120));
  });
}

/** Visible text whose colour against its effective background is below WCAG AA (4.5:1; 3:1 for large text). */
function lowContrastText(page) {
  return page.evaluate(() => {
    const parse = (colour) => {
      const parts = colour.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
      return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
    };
    const blend = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const background = (element) => {
      const layers = [];
      for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
        const colour = parse(getComputedStyle(node).backgroundColor);
        if (colour.a > 0) layers.push(colour);
        if (colour.a >= 1) break;
      }
      return layers.reverse().reduce((under, layer) => blend(layer, under), { r: 255, g: 255, b: 255, a: 1 });
    };
    const luminance = ({ r, g, b }) => {
      const channel = (value) => {
        const v = value / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    const failures = [];
    for (const element of document.querySelectorAll('body *')) {
      const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
      if (!ownText || element.offsetParent === null || element.closest('.visually-hidden, button:disabled, option')) continue;
      const style = getComputedStyle(element);
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      const back = background(element);
      const fore = blend(parse(style.color), back);
      const [light, dark] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
      const ratio = (light + 0.05) / (dark + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)}:1 "${element.textContent.trim().slice(0, 40)}" (${element.className || element.tagName})`);
    }
    return failures;
  });
}

async function checkPage(page, what) {
  assert.deepEqual(await unnamedControls(page), [], `${what}: every control has a name`);
  assert.deepEqual(await lowContrastText(page), [], `${what}: text contrast`);
}

/** Presses Tab until `matches(arg)` holds for the focused element (checked in the page, where
 * its focus ring must show); fails after `limit` presses. */
async function tabTo(page, matches, arg, what, limit = 150) {
  for (let presses = 0; presses < limit; presses += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(matches, arg)) {
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(outline, 'none', `focus on ${what} is visible`);
      return;
    }
  }
  assert.fail(`Tab never reached ${what}`);
}

describe('reply channels and the keyboard', () => {
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

  test('the reply box offers WhatsApp or email; an email reply lands in the sandbox mailbox, a WhatsApp one on the phone', async () => {
    // Erin (demo) is known by email and, from the sandbox phone's number, on WhatsApp.
    const subject = `Both ways ${Date.now()}`;
    await sandboxSend(hub.base, { wa_id: ERIN_WHATSAPP, name: 'Erin Silva', text: subject });
    const ticket = await waitFor(async () => (await api(hub.base, token, '/tickets?channel=whatsapp&limit=200')).items.find((t) => t.subject === subject), { message: 'the ticket' });
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent);
    await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
    await page.locator('.connection.live').waitFor();
    const choice = page.getByRole('group', { name: 'Send via' });
    await choice.waitFor();
    assert.equal(await choice.getByRole('radio', { name: 'WhatsApp' }).isChecked(), true, 'the ticket\'s channel first');
    await choice.getByRole('radio', { name: 'email' }).check();
    await page.fill('#reply-body', 'Sent to your inbox as well.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const reply = page.locator('.message.reply', { hasText: 'Sent to your inbox as well.' });
    await reply.locator('.via-channel[data-channel=email]').waitFor();
    await reply.locator('.tick[data-status=sent]').waitFor({ timeout: 5_000 });
    const mail = await waitFor(async () => (await mailbox(hub.base, ERIN_EMAIL)).find((item) => item.direction === 'out' && item.text.includes('Sent to your inbox')), { message: 'the email in the sandbox mailbox' });
    assert.match(mail.subject, new RegExp(`\\[#${ticket.number}\\]$`));
    const phone = await sandboxPhone(hub.base, ERIN_WHATSAPP);
    assert.ok(!phone.items.some((message) => message.text.includes('Sent to your inbox')), 'not sent on WhatsApp');

    await choice.getByRole('radio', { name: 'WhatsApp' }).check();
    await page.fill('#reply-body', 'And here on WhatsApp.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.message.reply', { hasText: 'And here on WhatsApp.' }).locator('.via-channel[data-channel=whatsapp]').waitFor();
    await waitFor(async () => (await sandboxPhone(hub.base, ERIN_WHATSAPP)).items.some((m) => m.direction === 'out' && m.text === 'And here on WhatsApp.'), { message: 'the WhatsApp reply on the phone' });
    assert.deepEqual(consoleErrors(page), []);
    await screenshot(page, 'ticket-channel-choice');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'ticket-channel-choice-phone');
    await page.close();
  });

  test('keyboard only: log in, open a ticket from the queue, reply by email', async () => {
    const address = `keys-${Date.now()}@customer.example`;
    const subject = `Keyboard ${Date.now()}`;
    await writeEmail(hub.base, { from: address, name: 'Kim Keys', subject, text: 'Can you hear me without a mouse?' });
    await waitFor(async () => (await api(hub.base, token, '/tickets?channel=email&limit=200')).items.find((t) => t.subject === subject), { message: 'the email ticket' });

    const page = await newPage(browser);
    await page.goto(`${hub.base}/agent`);
    await page.locator('input[name=email]').waitFor();
    await checkPage(page, 'login');
    // The email field has focus on arrival; the rest is typing, Tab and Enter.
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'email');
    await page.keyboard.type(DEMO.agent);
    await page.keyboard.press('Tab');
    await page.keyboard.type('switchboard-demo');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Queue/ }).waitFor();
    await page.locator('.connection.live').waitFor();
    const row = page.locator('tr', { hasText: subject });
    await row.waitFor();
    await checkPage(page, 'queue');

    // `?` shows the shortcuts, Escape hides them again.
    await page.keyboard.press('?');
    await page.getByRole('complementary', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('complementary', { name: 'Keyboard shortcuts' }).waitFor({ state: 'detached' });

    await tabTo(page, () => document.activeElement?.textContent === 'Skip to content', null, 'the skip button', 3);
    await tabTo(page, (text) => document.activeElement?.tagName === 'A' && document.activeElement.textContent.includes(text), subject, `the link to "${subject}"`, 300);
    await page.keyboard.press('Enter');
    await page.locator('.ticket-head h1', { hasText: subject }).waitFor();
    await page.locator('.message.customer', { hasText: 'without a mouse' }).waitFor();
    await checkPage(page, 'ticket');
    // Email is the only channel this customer has, and it is chosen.
    await tabTo(page, () => document.activeElement?.type === 'radio' && document.activeElement.value === 'email', null, 'the email channel');
    assert.equal(await page.evaluate(() => document.activeElement.checked), true);
    await tabTo(page, () => document.activeElement?.id === 'reply-body', null, 'the reply text');
    await page.keyboard.type('Loud and clear, from the keyboard.');
    await tabTo(page, () => document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent === 'Send', null, 'Send', 5);
    await page.keyboard.press('Enter');
    await page.locator('.message.reply', { hasText: 'Loud and clear' }).locator('.via-channel[data-channel=email]').waitFor();
    await waitFor(async () => (await mailbox(hub.base, address)).some((mail) => mail.direction === 'out' && mail.text.includes('Loud and clear')), { message: 'the reply in the mailbox' });
    assert.deepEqual(consoleErrors(page, { ignore: [/401/] }), []);
    await screenshot(page, 'ticket-keyboard-reply');
    await page.close();
  });

  test('admin: the WhatsApp numbers section, every control named, readable contrast', async () => {
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.admin);
    await page.goto(`${hub.base}/#/admin`);
    const numbers = page.locator('[data-section=whatsapp-numbers]');
    await numbers.getByRole('heading', { name: 'WhatsApp numbers' }).waitFor();
    await numbers.locator('tr[data-number="100200300400500"]', { hasText: '+15550100001' }).waitFor();
    await numbers.getByText('Sandbox: replies go to the built-in simulator').waitFor();
    await numbers.getByText(/\d+ synced, \d+ approved/).waitFor();
    // The channels' secrets, generated for this install: the app secret shows only on request.
    const admin = await apiLogin(hub.base, DEMO.admin);
    const secrets = await api(hub.base, admin, '/account/channel-secrets');
    const section = page.locator('[data-section=channel-secrets]');
    await section.getByRole('heading', { name: 'Channel secrets' }).waitFor();
    await section.getByText(`${hub.base}/webhooks/whatsapp`).waitFor();
    await section.getByText(secrets.whatsapp.verify_token.value).waitFor();
    assert.equal(await section.getByText(secrets.whatsapp.app_secret.value).count(), 0, 'hidden until asked for');
    await section.getByRole('button', { name: 'Reveal the app secret' }).click();
    await section.getByText(secrets.whatsapp.app_secret.value).waitFor();
    await section.getByRole('button', { name: 'Reveal the email inbound secret' }).click();
    await section.getByText(secrets.email.inbound_secret.value).waitFor();
    await checkPage(page, 'admin');
    // The checks themselves notice what they look for.
    await page.evaluate(() => {
      const faint = Object.assign(document.createElement('p'), { id: 'faint', textContent: 'faint text' });
      faint.style.color = '#b0b0b0'; // CSSOM: the CSP refuses style attributes
      document.querySelector('main').append(faint, Object.assign(document.createElement('input'), { id: 'nameless' }));
    });
    assert.equal((await lowContrastText(page)).filter((failure) => failure.includes('faint text')).length, 1);
    assert.equal((await unnamedControls(page)).filter((failure) => failure.includes('nameless')).length, 1);
    await page.evaluate(() => ['faint', 'nameless'].forEach((id) => document.getElementById(id).remove()));
    await screenshot(page, 'admin-desktop');
    for (const [hash, heading] of [['#/presence', /Presence/], ['#/conversations', /WhatsApp/]]) {
      await page.goto(`${hub.base}/${hash}`);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      await checkPage(page, hash);
    }
    assert.deepEqual(consoleErrors(page), []);
    await page.close();
  });
});
