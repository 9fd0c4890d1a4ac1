// Stored files cannot run script (issue 10, item 1). An emailed SVG and an uploaded HTML file,
// each carrying a payload that would act with the agent's session if it ever ran, are opened in
// a real browser through the console (the attachment links, and a tab sent straight to each
// file) and through a link on another site (a top-level navigation, so the Lax session cookie
// goes along). Every way in must end in a download of the untouched file, with no dialog, no
// changed title, no page showing it and no ticket created by it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

const INBOUND_SECRET = 'browser-test-secret';
const STAMP = Date.now();
const EMAIL_SUBJECT = `Your invoice ${STAMP}`;

/** What the payload does if it ever runs: each of these is something the test looks for. */
function payloadScript(tag) {
  return [
    `document.title='PWNED';`,
    `try{fetch('/api/v1/tickets',{method:'POST',credentials:'include',headers:{'content-type':'application/json','x-requested-with':'x'},body:JSON.stringify({subject:'PWNED-${tag}',body:'x',requester_email:'p@x.example'})})}catch(e){}`,
    `alert('pwned-${tag}');`,
  ].join('');
}

const attribute = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

function svgPayload() {
  const js = payloadScript('SVG');
  // No `<?xml …?>` prolog: with one, the bytes sniff as XML and the console shows a plain file
  // link; without, the file stays image/svg+xml and the console shows it as an image preview.
  return `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" onload="${attribute(js)}">
  <rect width="120" height="40" fill="#c00"/>
  <script type="text/javascript"><![CDATA[${js}]]></script>
</svg>
`;
}

function htmlPayload() {
  const js = payloadScript('HTML');
  return `<!DOCTYPE html>
<html><head><title>invoice</title><script>${js}</script></head>
<body onload="${attribute(js)}"><h1>Invoice</h1><img src="x" onerror="${attribute(js)}"></body></html>
`;
}

/** A raw RFC 5322 message from an outside sender with `svg` attached as image/svg+xml. */
function emailWithSvg(svg) {
  const base64 = Buffer.from(svg).toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return [
    'From: Mallory Sender <mallory@evil.example>',
    'To: help@demo.switchboard.test',
    `Subject: ${EMAIL_SUBJECT}`,
    `Message-ID: <svg-${STAMP}@evil.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hi, please see the attached invoice.',
    '--b1',
    'Content-Type: image/svg+xml; name="invoice.svg"',
    'Content-Disposition: attachment; filename="invoice.svg"',
    'Content-Transfer-Encoding: base64',
    '',
    base64,
    '--b1--',
    '',
  ].join('\r\n');
}

/**
 * The "other site": serves /links, a page linking to each file of the hub by the hub's own
 * address. It is reached as
 * `localhost` while the hub is `127.0.0.1`: a different site, not just a different port.
 */
async function startOtherSite() {
  let links = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://localhost');
    if (url.pathname === '/links') {
      const anchors = links
        .map(({ id, href, text, blank }) => `<p><a id="${id}" href="${href}"${blank ? ' target="_blank"' : ''}>${text}</a></p>`)
        .join('\n');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!DOCTYPE html><html><head><title>Totally legit</title></head><body>${anchors}</body></html>`);
      return;
    }
    response.writeHead(404).end();
  });
  const listen = (host) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen('::'); // dual stack: `localhost` may resolve to ::1 or 127.0.0.1
  } catch {
    await listen('127.0.0.1');
  }
  const { port } = server.address();
  return {
    base: `http://localhost:${port}`,
    setLinks(list) {
      links = list;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('stored files run no script', () => {
  let hub;
  let other;
  let browser;
  let context;
  let page;
  let token;
  let ticket;
  const files = {}; // svg, html: { url, name, bytes }
  const dialogs = [];
  const downloads = [];
  const pages = [];

  /** Record dialogs and downloads on every page of the agent's context, tabs opened later too. */
  function watch(target) {
    pages.push(target);
    target.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()} "${dialog.message()}" on ${target.url()}`);
      dialog.dismiss().catch(() => {});
    });
    target.on('download', (download) => downloads.push(download));
  }

  /** Waits for a new download of `file` (beyond `already`) and checks it holds the exact bytes. */
  async function downloaded(file, already) {
    const download = await waitFor(
      () => {
        // A payload that ran is the failure to report, rather than the download that never came.
        assert.deepEqual(dialogs, [], `no dialog opened while opening ${file.name}`);
        return downloads.filter((d) => d.url() === `${hub.base}${file.url}`)[already];
      },
      { timeout: 10_000, message: `a download of ${file.name}` },
    ).catch((error) => {
      assert.deepEqual(dialogs, [], `no dialog opened while opening ${file.name}`);
      throw error;
    });
    const path = await download.path();
    assert.ok(path, `the download of ${file.name} completed (${await download.failure()})`);
    assert.deepEqual(await readFile(path), file.bytes, `the download of ${file.name} is the file, served with the agent's session`);
    return download;
  }

  /** Each browser test judges only what happened during it (a PWNED ticket counts in any). */
  function freshWatch() {
    dialogs.length = 0;
  }

  const downloadsOf = (file) => downloads.filter((d) => d.url() === `${hub.base}${file.url}`).length;

  async function assertNoScriptRan(where) {
    assert.deepEqual(dialogs, [], `no dialog opened (${where})`);
    for (const open of pages) {
      if (open.isClosed()) continue;
      const title = await open.title().catch(() => '');
      assert.notEqual(title, 'PWNED', `the title of ${open.url()} is untouched (${where})`);
      assert.doesNotMatch(await open.content().catch(() => ''), /pwned-(SVG|HTML)/, `${open.url()} does not show the payload as a page (${where})`);
    }
    const subjects = (await api(hub.base, token, '/tickets?limit=100')).items.map((t) => t.subject);
    assert.ok(subjects.includes(EMAIL_SUBJECT), 'the ticket list is readable (the check below means something)');
    assert.deepEqual(subjects.filter((subject) => subject.startsWith('PWNED')), [], `no ticket was created by a payload (${where})`);
  }

  before(async () => {
    other = await startOtherSite();
    hub = await startHub({ env: { SWITCHBOARD__EMAIL__INBOUND_SECRET: INBOUND_SECRET } });
    browser = await launchBrowser();
    token = await apiLogin(hub.base, DEMO.agent);

    // The emailed SVG: delivered like a mail provider would, then found on its new ticket.
    const svg = svgPayload();
    const delivered = await fetch(`${hub.base}/webhooks/email`, {
      method: 'POST',
      headers: { 'x-switchboard-secret': INBOUND_SECRET, 'content-type': 'message/rfc822' },
      body: emailWithSvg(svg),
    });
    assert.ok(delivered.ok, `the email was accepted: ${delivered.status} ${await delivered.text()}`);
    ticket = await waitFor(async () => (await api(hub.base, token, '/tickets?limit=100')).items.find((t) => t.subject === EMAIL_SUBJECT), {
      timeout: 15_000,
      message: `the ticket of the email "${EMAIL_SUBJECT}"`,
    }).catch((error) => {
      throw new Error(`${error.message}\n${hub.logs()}`);
    });
    const full = await api(hub.base, token, `/tickets/${ticket.id}`);
    const emailed = full.messages.flatMap((message) => message.attachments ?? []).find((file) => file.file_name === 'invoice.svg');
    assert.ok(emailed, `the SVG arrived as an attachment: ${JSON.stringify(full.messages)}`);
    files.svg = { url: emailed.url, name: 'invoice.svg', bytes: Buffer.from(svg) };

    // The uploaded HTML file, sent by the agent as an attachment of a reply on the same ticket.
    const html = htmlPayload();
    const uploadResponse = await fetch(`${hub.base}/api/v1/uploads?name=evil.html`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/html' },
      body: html,
    });
    assert.equal(uploadResponse.status, 201, await uploadResponse.clone().text());
    const uploaded = await uploadResponse.json();
    await api(hub.base, token, `/tickets/${ticket.id}/messages`, {
      method: 'POST',
      body: { body: 'see file', attachments: [{ url: uploaded.url, name: 'evil.html' }] },
    });
    files.html = { url: uploaded.url, name: 'evil.html', bytes: Buffer.from(html) };
    for (const file of Object.values(files)) {
      assert.match(file.url, /^\/api\/v1\/media\/[0-9a-f]{64}$/, `${file.name} has a media URL`);
    }

    // The agent, logged in in a real browser.
    page = await newPage(browser);
    context = page.context();
    context.on('page', watch);
    watch(page);
    await login(page, hub.base, DEMO.agent);
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
    await other?.stop();
  });

  test('the hub serves both files as downloads that may run nothing', async () => {
    for (const file of Object.values(files)) {
      const response = await fetch(`${hub.base}${file.url}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200, file.name);
      assert.equal(response.headers.get('content-disposition'), 'attachment', `${file.name} downloads`);
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; sandbox", `${file.name} is sandboxed`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', `${file.name} is not sniffed`);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), file.bytes, `${file.name} is served unchanged`);
    }
    // Without a session there is nothing to fetch at all.
    const anonymous = await fetch(`${hub.base}${files.svg.url}`);
    assert.equal(anonymous.status, 401);
  });

  test('opening the emailed SVG and the uploaded HTML from the console runs no script', async (t) => {
    freshWatch();
    await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
    await page.locator('.message.customer', { hasText: 'please see the attached invoice' }).waitFor();

    // The console shows both attachments as links to the media URL.
    const svgLink = page.locator(`.message a[href="${files.svg.url}"]`);
    const htmlLink = page.locator(`.message a[href="${files.html.url}"]`);
    await svgLink.waitFor();
    await htmlLink.waitFor();
    assert.equal(await htmlLink.getAttribute('download'), 'evil.html');
    // The SVG shows either as an image preview (linking to the file in a new tab) or as a
    // download link; an image never runs script, so either is fine, as long as opening it is.
    const preview = svgLink.locator('img');
    if (await preview.count()) {
      const shown = await preview.evaluate((img) => img.complete && img.naturalWidth > 0);
      t.diagnostic(`the SVG shows as an image preview (${shown ? 'rendered' : 'not rendered'})`);
    } else {
      assert.equal(await svgLink.getAttribute('download'), 'invoice.svg');
      t.diagnostic('the SVG shows as a download link');
    }
    await screenshot(page, 'security-ticket-attachments');

    // Click each one (the SVG preview opens a new tab, the file link downloads in place).
    const svgCount = downloadsOf(files.svg);
    await svgLink.click();
    await downloaded(files.svg, svgCount);
    const htmlCount = downloadsOf(files.html);
    await htmlLink.click();
    await downloaded(files.html, htmlCount);
    assert.equal(new URL(page.url()).hash, `#/tickets/${ticket.id}`, 'the console stayed on the ticket');

    // A tab sent straight to each file (top-level, with the session cookie).
    const tab = await context.newPage();
    for (const file of [files.svg, files.html]) {
      const count = downloadsOf(file);
      const navigation = await tab.goto(`${hub.base}${file.url}`).then(
        (response) => response,
        (error) => error,
      );
      await downloaded(file, count);
      assert.ok(navigation instanceof Error || navigation === null, `${file.name} did not render as a page: ${navigation?.status?.()}`);
    }
    // Give a payload that might have slipped through a moment to show itself, then look.
    await page.waitForTimeout(300);
    await assertNoScriptRan('console');
    assert.deepEqual(consoleErrors(page), []);
    await tab.close();
  });

  test('following a link to either file from another site runs no script', async () => {
    freshWatch();
    other.setLinks([
      { id: 'svg', href: `${hub.base}${files.svg.url}`, text: 'invoice' },
      { id: 'html', href: `${hub.base}${files.html.url}`, text: 'details' },
      { id: 'svg-tab', href: `${hub.base}${files.svg.url}`, text: 'invoice (new tab)', blank: true },
      { id: 'html-tab', href: `${hub.base}${files.html.url}`, text: 'details (new tab)', blank: true },
    ]);
    const site = await context.newPage();
    for (const [id, file] of [['svg', files.svg], ['html', files.html], ['svg-tab', files.svg], ['html-tab', files.html]]) {
      await site.goto(`${other.base}/links`);
      assert.equal(await site.title(), 'Totally legit');
      const count = downloadsOf(file);
      await site.locator(`#${id}`).click();
      // The download proves the cross-site navigation carried the agent's session cookie.
      await downloaded(file, count);
    }
    await site.waitForTimeout(300);
    await assertNoScriptRan('cross-site link');
    await site.close();
  });
});
