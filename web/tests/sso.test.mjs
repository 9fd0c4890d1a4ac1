// Single sign-on in the console (issue 17 item 3): an admin sets the account's OpenID Connect
// provider in Admin → Single sign-on, the login page then offers "Sign in with SSO", and the
// agent goes through the provider and lands in the console signed in; an address the provider
// did not verify comes back to the login page with the reason. The provider is played here by
// a small loopback server with an ES256 key of its own (node:crypto), independent of the hub's
// openidconnect crate.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { DEMO, apiLogin, api, consoleErrors, freePort, launchBrowser, newPage, screenshot, startHub } from './harness.mjs';

const CLIENT_ID = 'switchboard-browser';
const CLIENT_SECRET = 'browser-test-client-secret';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** A provider on 127.0.0.1 that signs the user `next.email` in at once. */
async function startProvider() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'browser-1', use: 'sig', alg: 'ES256' };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const codes = new Map();
  const provider = { issuer, next: { email: DEMO.agent, email_verified: true } };
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, issuer);
    const send = (status, body, headers = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      });
    }
    if (url.pathname === '/jwks') return send(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const code = b64url(randomBytes(16));
      const query = url.searchParams;
      codes.set(code, { nonce: query.get('nonce'), challenge: query.get('code_challenge'), who: { ...provider.next } });
      const back = `${query.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(query.get('state'))}`;
      response.writeHead(302, { location: back });
      return response.end();
    }
    if (url.pathname === '/token' && request.method === 'POST') {
      let raw = '';
      for await (const chunk of request) raw += chunk;
      const form = new URLSearchParams(raw);
      const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
      const grant = codes.get(form.get('code'));
      codes.delete(form.get('code'));
      const verified = grant && b64url(createHash('sha256').update(form.get('code_verifier') ?? '').digest()) === grant.challenge;
      if (request.headers.authorization !== basic || !verified) return send(400, { error: 'invalid_grant' });
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: jwk.kid }));
      const claims = b64url(JSON.stringify({
        iss: issuer, sub: 'browser-user', aud: CLIENT_ID, iat: now, exp: now + 300, nonce: grant.nonce,
        email: grant.who.email, email_verified: grant.who.email_verified,
      }));
      const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return send(200, { access_token: 'browser-access', token_type: 'Bearer', expires_in: 300, id_token: `${header}.${claims}.${b64url(signature)}` });
    }
    return send(404, { error: 'not_found' });
  });
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  provider.close = () => new Promise((done) => server.close(done));
  return provider;
}

describe('single sign-on', () => {
  let hub;
  let browser;
  let provider;
  before(async () => {
    hub = await startHub();
    provider = await startProvider();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await provider?.close();
    await hub?.stop();
  });

  test('an admin sets the provider and an agent signs in with it', async () => {
    const admin = await newPage(browser);
    const token = await apiLogin(hub.base, DEMO.admin);
    await admin.context().addCookies([{ name: 'switchboard_session', value: token, url: hub.base }]);
    await admin.goto(`${hub.base}/#/admin`);
    const section = admin.locator('[data-section="sso"]');
    await section.getByText(`${hub.base}/api/v1/auth/sso/callback`).waitFor();
    await section.getByLabel('Issuer URL').fill(provider.issuer);
    await section.getByLabel('Client ID').fill(CLIENT_ID);
    await section.getByLabel('Client secret').fill(CLIENT_SECRET);
    await section.getByLabel('Offer “Sign in with SSO”').check();
    await section.getByRole('button', { name: 'Save single sign-on' }).click();
    await section.getByText('A secret is stored; leave the field empty to keep it.').waitFor();
    assert.equal(await section.getByLabel('Client secret').inputValue(), '', 'the secret is not shown back');
    await screenshot(admin, 'sso-admin');
    const saved = await api(hub.base, token, '/account/sso');
    assert.equal(saved.enabled, true);
    assert.equal(JSON.stringify(saved).includes(CLIENT_SECRET), false);
    assert.deepEqual(consoleErrors(admin, { ignore: [/401/] }), []);

    // A fresh browser: the login page offers SSO; the provider signs the agent in.
    const page = await newPage(browser);
    await page.goto(`${hub.base}/agent`);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.locator('main.login').waitFor({ state: 'detached' });
    const me = await page.evaluate(() => fetch('/api/v1/me').then((response) => response.json()));
    assert.equal(me.email, DEMO.agent);
    await screenshot(page, 'sso-signed-in');
    assert.deepEqual(consoleErrors(page, { ignore: [/401/] }), []);

    // An address the provider did not verify comes back to the login page, explained.
    provider.next = { email: DEMO.agent, email_verified: false };
    const refused = await newPage(browser);
    await refused.goto(`${hub.base}/agent`);
    await refused.getByRole('link', { name: 'Sign in with SSO' }).click();
    await refused.getByText('Your identity provider has not verified your email address.').waitFor();
    assert.equal(new URL(refused.url()).searchParams.get('sso_error'), null, 'the code is taken off the address');
    await screenshot(refused, 'sso-refused');
  });
});
