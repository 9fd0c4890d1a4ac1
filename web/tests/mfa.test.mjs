// Two-factor authentication in the console (issue 17 item 1): an agent turns it on in
// Preferences → Security (the QR code shows as an image, the secret beside it, a code from
// "the app" confirms, ten recovery codes show once), then signs in again through the login page,
// which asks for the code after the password; a wrong code is refused, the right one signs in.
// The test plays the authenticator app with its own RFC 6238 code (node:crypto), independent
// of the server's totp-rs.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { DEMO, DEMO_PASSWORD, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(bytes);
}

/** The six-digit TOTP code (HMAC-SHA1, 30-second steps) for `at` (ms since the epoch). */
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

describe('two-factor authentication', () => {
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

  test('an agent enrols in Preferences and then signs in with a code', async () => {
    const page = await newPage(browser);
    await login(page, hub.base, DEMO.agent2);
    await page.goto(`${hub.base}/#/preferences`);
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    const qr = page.locator('img.mfa-qr');
    await qr.waitFor();
    await waitFor(() => qr.evaluate((image) => image.complete && image.naturalWidth > 0), { message: 'the QR code image loads' });
    const secret = (await page.locator('[data-secret]').textContent()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);

    const confirm = page.getByRole('form', { name: 'Confirm and turn on' });
    await confirm.getByLabel('Code from the app').fill('000000' === totp(secret) ? '111111' : '000000');
    await confirm.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.getByText('Wrong or already used code.').waitFor();
    await confirm.getByLabel('Code from the app').fill(totp(secret));
    await confirm.getByRole('button', { name: 'Confirm and turn on' }).click();
    const codes = page.locator('[data-recovery] li');
    await waitFor(async () => (await codes.count()) === 10, { message: 'ten recovery codes' });
    await screenshot(page, 'mfa-recovery-codes');
    await page.getByRole('button', { name: 'I saved them' }).click();
    await page.getByText('On: signing in asks for a code').waitFor();
    await page.getByText('Recovery codes left: 10.').waitFor();
    // The sessions list shows this browser as the current one.
    await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
    assert.ok((await page.locator('table.sessions').textContent()).includes('this device'));
    assert.deepEqual(consoleErrors(page, { ignore: [/401/] }), []);

    // A fresh browser: password first, then the code.
    const fresh = await newPage(browser);
    await fresh.goto(`${hub.base}/agent`);
    await fresh.getByLabel('Email').fill(DEMO.agent2);
    await fresh.getByLabel('Password').fill(DEMO_PASSWORD);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    const code = fresh.getByLabel('Authentication code');
    await code.fill(totp(secret) === '000000' ? '111111' : '000000');
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByText('Wrong or already used code.').waitFor();
    // The confirming code's step is used up: the next step's code (within the skew) signs in.
    await code.fill(totp(secret, Date.now() + 30_000));
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.locator('main.login').waitFor({ state: 'detached' });
    await screenshot(fresh, 'mfa-signed-in');
    assert.deepEqual(consoleErrors(fresh, { ignore: [/401/] }), []);
  });
});
