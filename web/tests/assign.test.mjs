// Assignment from anywhere (issue 12 item 5) and the ticket page's header and thread (item 7):
// an agent gives tickets to another agent from the queue row's picker (which shows presence and
// load), from the keyboard (`a` opens the picker for the row under the cursor, which stays on its
// ticket; `A` takes it), from the bulk bar for two ticked tickets, and from the ticket header;
// the header edits the subject and the status, and the thread shows those changes centred.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

describe('assignment from anywhere', () => {
  let hub;
  let browser;
  let token;
  let ana;
  let sam;
  let customer;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    token = await apiLogin(hub.base, DEMO.agent);
    const users = (await api(hub.base, token, '/users')).items;
    ana = users.find((user) => user.email === DEMO.agent);
    // Another agent (not a supervisor): agents give tickets to each other.
    sam = users.find((user) => user.role === 'agent' && user.id !== ana.id);
    customer = users.find((user) => user.role === 'customer');
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  /** Two fresh tickets whose subjects share a word no other ticket has. */
  async function twoTickets(label) {
    const word = `${label}${Date.now()}`;
    const make = (n) => api(hub.base, token, '/tickets', { method: 'POST', body: { subject: `${word} case ${n}`, body: 'Please help.', requester_id: customer.id } });
    return { word, tickets: [await make(1), await make(2)] };
  }

  const assigneeOf = async (id) => (await api(hub.base, token, `/tickets/${id}`)).assignee_id;

  /** The queue showing only the tickets matching `word`. */
  async function queueOf(page, word, count) {
    await page.goto(`${hub.base}/#/queue`);
    await page.fill('#queue-query', word);
    await waitFor(async () => (await page.locator('table.tickets tbody tr').count()) === count, { message: `${count} rows for ${word}` });
  }

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`from the queue row's picker, with presence and load, and from the keyboard (${width} px)`, async () => {
      const { word, tickets: [first, second] } = await twoTickets(`Picker${width}`);
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      await queueOf(page, word, 2);

      // The row's picker: every agent with presence and load/capacity; Ana (connected) is online.
      const row = page.locator(`tr[data-ticket="${first.id}"]`);
      await row.getByRole('button', { name: 'Assign…' }).click();
      const picker = page.getByRole('dialog', { name: 'Assign ticket' });
      await picker.locator(`li[data-assignee="${ana.id}"] .presence-text`, { hasText: 'online' }).waitFor();
      const load = await picker.locator(`li[data-assignee="${sam.id}"] .load`).textContent();
      assert.match(load, /^\d+\/\d+$/, 'load against capacity');
      await screenshot(page, `assign-picker-${width}`);
      await picker.getByRole('searchbox').fill(sam.name.split(' ')[0]);
      await picker.locator(`li[data-assignee="${sam.id}"]`).click();
      await waitFor(async () => (await assigneeOf(first.id)) === sam.id, { message: 'first assigned to Sam' });
      await row.getByText(sam.name).waitFor();
      await waitFor(async () => (await picker.count()) === 0, { message: 'the picker closed' });

      // The keyboard: the cursor on the second ticket, `a` opens its picker, Enter picks Sam;
      // the assignment re-sorts the list, and the cursor stays on the ticket it was on.
      const rows = page.locator('table.tickets tbody tr');
      // Keys go to the page, not to the query box.
      await page.evaluate(() => document.activeElement?.blur());
      const ids = async () => Promise.all((await rows.all()).map(async (r) => Number(await r.getAttribute('data-ticket'))));
      const order = await ids();
      // `j` then `a` at once, as a quick typist does: `a` acts on the row `j` moved to.
      if (order.indexOf(second.id) === 1) await page.keyboard.press('j');
      await page.keyboard.press('a');
      await page.locator(`tr.current[data-ticket="${second.id}"]`).waitFor();
      const keyed = page.getByRole('dialog', { name: `Assign #${second.number}` });
      await keyed.getByRole('searchbox').waitFor();
      await waitFor(() => keyed.getByRole('searchbox').evaluate((box) => box === document.activeElement), { message: 'the picker took the focus' });
      assert.equal(await keyed.getByRole('searchbox').inputValue(), '', 'the key typed nothing into the picker');
      await page.keyboard.type(sam.name.split(' ')[0]);
      // Once the agents are read, the match is the highlighted option, and Enter picks it.
      await keyed.locator(`li.current[data-assignee="${sam.id}"]`).waitFor();
      await page.keyboard.press('Enter');
      await waitFor(async () => (await assigneeOf(second.id)) === sam.id, { message: 'second assigned to Sam by keyboard' });
      await waitFor(async () => (await ids())[0] === second.id, { message: 'the changed ticket sorted first' });
      await page.locator(`tr.current[data-ticket="${second.id}"]`).waitFor();
      assert.equal(await assigneeOf(first.id), sam.id, 'the other ticket untouched');

      // `A` takes the ticket under the cursor.
      await page.keyboard.press('A');
      await waitFor(async () => (await assigneeOf(second.id)) === ana.id, { message: 'second taken by Ana' });
      await page.locator(`tr.current[data-ticket="${second.id}"]`).waitFor();
      assert.equal(await assigneeOf(first.id), sam.id);

      // `?` lists the keys.
      await page.keyboard.press('?');
      await page.getByRole('complementary', { name: 'Keyboard shortcuts' }).getByText('a assigns (picker)').waitFor();
      assert.deepEqual(consoleErrors(page), []);
      await page.close();
    });

    test(`bulk: two ticked tickets assigned and tagged at once (${width} px)`, async () => {
      const { word, tickets } = await twoTickets(`Bulk${width}`);
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      await queueOf(page, word, 2);
      for (const ticket of tickets) await page.getByLabel(`Tick #${ticket.number}`).check();
      const bar = page.getByRole('region', { name: 'Bulk change' });
      await bar.getByText('2 selected').waitFor();
      await bar.getByRole('button', { name: 'Assign…' }).click();
      await bar.getByRole('dialog', { name: 'Assign 2 tickets' }).locator(`li[data-assignee="${sam.id}"]`).click();
      await waitFor(async () => (await Promise.all(tickets.map((t) => assigneeOf(t.id)))).every((id) => id === sam.id), { message: 'both assigned to Sam' });
      await bar.getByLabel('Tag').fill(`vip${width}`);
      await bar.getByRole('button', { name: 'Add' }).click();
      await waitFor(async () => {
        const tags = await Promise.all(tickets.map(async (t) => (await api(hub.base, token, `/tickets/${t.id}`)).tags));
        return tags.every((set) => set.includes(`vip${width}`));
      }, { message: 'both tagged' });
      for (const ticket of tickets) await page.locator(`tr[data-ticket="${ticket.id}"]`).getByText(sam.name).waitFor();
      await screenshot(page, `assign-bulk-${width}`);
      assert.deepEqual(consoleErrors(page), []);
      await page.close();
    });

    test(`the ticket header: assign to another agent, edit the subject, change the status; the thread shows it (${width} px)`, async () => {
      const { tickets: [ticket] } = await twoTickets(`Header${width}`);
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
      const head = page.locator('.ticket-head');
      await head.locator('h1', { hasText: ticket.subject }).waitFor();
      await head.locator('[data-created]').waitFor();
      await head.locator('[data-updated]').waitFor();

      await head.locator('.head-assignee').getByRole('button', { name: 'Assign…' }).click();
      await head.getByRole('dialog', { name: 'Assign ticket' }).locator(`li[data-assignee="${sam.id}"]`).click();
      await waitFor(async () => (await assigneeOf(ticket.id)) === sam.id, { message: 'assigned to Sam from the header' });
      await head.locator(`.head-assignee[data-assignee="${sam.id}"]`).getByText(sam.name).waitFor();
      await page.locator('.thread .system-event[data-system-event=assigned]', { hasText: `Assigned to ${sam.name}` }).waitFor();

      await head.getByRole('button', { name: 'Edit subject' }).click();
      await page.fill('#subject-input', `Renamed ${ticket.subject}`);
      await page.keyboard.press('Enter');
      await head.locator('h1', { hasText: `Renamed ${ticket.subject}` }).waitFor();
      assert.equal((await api(hub.base, token, `/tickets/${ticket.id}`)).subject, `Renamed ${ticket.subject}`);

      await head.getByLabel('Status').selectOption('pending');
      await waitFor(async () => (await api(hub.base, token, `/tickets/${ticket.id}`)).status === 'pending', { message: 'pending' });
      await page.locator('.thread .system-event[data-system-event=status_changed]', { hasText: '→ pending' }).waitFor();
      // Status changes are in the thread; delivery ticks are not listed in the activity.
      assert.equal(await page.getByRole('region', { name: 'Activity' }).getByText(/^message (sent|delivered|read)/).count(), 0);
      await screenshot(page, `assign-ticket-header-${width}`);
      assert.deepEqual(consoleErrors(page), []);
      await page.close();
    });

    test(`ticket keys: n, r, p, e, ?, a markdown preview that keeps HTML as text, Ctrl+Enter sends (${width} px)`, async () => {
      const { tickets: [ticket] } = await twoTickets(`Keys${width}`);
      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.agent);
      await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
      await page.locator('.ticket-head h1', { hasText: ticket.subject }).waitFor();
      await page.locator('#reply-body').waitFor();
      const status = async () => (await api(hub.base, token, `/tickets/${ticket.id}`)).status_category;

      await page.keyboard.press('?');
      const help = page.getByRole('complementary', { name: 'Keyboard shortcuts' });
      await help.getByText('n internal note').waitFor();
      await help.getByText('e resolve').waitFor();

      // n: a note, the cursor in the box; the preview renders the markdown, and HTML stays text.
      await page.locator('.ticket-head .number').click();
      await page.keyboard.press('n');
      await waitFor(async () => page.getByLabel('Internal note').isChecked(), { message: 'note mode by n' });
      await waitFor(async () => page.evaluate(() => document.activeElement?.id === 'reply-body'), { message: 'the reply box focused' });
      await page.keyboard.type('**Refund** _approved_\n- step one\n  - nested [guide](https://example.com/guide)\n<img src=x onerror="window.pwned=1"> `code`');
      const preview = page.getByRole('region', { name: 'Preview' });
      await preview.locator('strong', { hasText: 'Refund' }).waitFor();
      await preview.locator('em', { hasText: 'approved' }).waitFor();
      await preview.locator('ul > li ul > li', { hasText: 'nested' }).waitFor();
      assert.equal(await preview.locator('a').getAttribute('href'), 'https://example.com/guide');
      assert.equal(await preview.locator('img').count(), 0, 'typed HTML is never injected');
      await preview.getByText('<img src=x onerror="window.pwned=1">').waitFor();
      assert.equal(await page.evaluate(() => window.pwned), undefined);
      await screenshot(page, `ticket-markdown-preview-${width}`);

      // Ctrl+Enter sends it.
      await page.keyboard.press('Control+Enter');
      await page.locator('.message.note', { hasText: '**Refund** _approved_' }).waitFor();
      await waitFor(async () => (await page.locator('#reply-body').inputValue()) === '', { message: 'the box emptied' });

      // r: back to a reply; p: pending; e: resolved.
      await page.locator('.ticket-head .number').click();
      await page.keyboard.press('r');
      await waitFor(async () => !(await page.getByLabel('Internal note').isChecked()), { message: 'reply mode by r' });
      await page.locator('.ticket-head .number').click();
      await page.keyboard.press('p');
      await waitFor(async () => (await status()) === 'pending', { message: 'pending by p' });
      await page.keyboard.press('e');
      await waitFor(async () => (await status()) === 'resolved', { message: 'resolved by e' });
      await page.locator('.thread .system-event[data-system-event=status_changed]', { hasText: 'resolved' }).waitFor();
      assert.deepEqual(consoleErrors(page), []);
      await page.close();
    });
  }
});
