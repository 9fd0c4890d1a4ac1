// Routing on the admin page: an admin sets an agent's skills and languages in the people table
// and a team's routing in its form (a refusal names the field); a ticket for that team is then
// assigned by the router to the agent online in the console, and the ticket's assignment history
// shows why. At 1280 and 390 px; the routing forms never run off a phone's screen.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEMO, api, apiLogin, consoleErrors, launchBrowser, login, newPage, screenshot, startHub, waitFor } from './harness.mjs';

describe('routing administration', () => {
  let hub;
  let browser;
  let adminToken;
  let ana;

  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    adminToken = await apiLogin(hub.base, DEMO.admin);
    const users = await api(hub.base, adminToken, '/users?role=agent');
    ana = users.items.find((user) => user.email === DEMO.agent);
    // Room for more than the demo tickets Ana already holds.
    await api(hub.base, adminToken, `/users/${ana.id}`, { method: 'PATCH', body: { capacity: 50 } });
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    test(`skills, languages and a team's routing are set on the admin page; the router explains (${width} px)`, async () => {
      const teamName = `Routed ${width}`;
      const team = await api(hub.base, adminToken, '/teams', { method: 'POST', body: { name: teamName, member_ids: [ana.id] } });

      // The agent is online in their console: the router's only candidate.
      const agentPage = await newPage(browser, { width: 1280, height: 800 });
      await login(agentPage, hub.base, DEMO.agent);
      await agentPage.goto(`${hub.base}/#/queue`);
      await waitFor(async () => (await api(hub.base, adminToken, '/agents/availability')).items.some((row) => row.user_id === ana.id && row.status === 'online'),
        { timeout: 10_000, message: 'Ana online' });

      const page = await newPage(browser, { width, height });
      await login(page, hub.base, DEMO.admin);
      await page.goto(`${hub.base}/#/admin`);

      // Skills and languages on people: saved as typed, normalised by the server.
      // Each change is saved (and the table read again) before the next is typed.
      const setField = async (label, text, saved) => {
        const input = page.getByLabel(`${label} of ${ana.name}`);
        await input.fill(text);
        await input.press('Tab');
        await waitFor(async () => saved(await api(hub.base, adminToken, `/users/${ana.id}`)), { message: `${label} saved` });
        await waitFor(async () => (await input.inputValue()) === text || (await input.inputValue()) !== '', { message: `${label} shown` });
      };
      await setField('Skills', `Finance, care${width}`, (user) => user.skills.join() === [`care${width}`, 'finance'].join());
      await setField('Languages', 'eng, spa', (user) => user.languages.join() === 'eng,spa');


      // The team's routing form: a refusal names the field and changes nothing…
      const form = page.locator(`form.routing-form[data-team="${team.id}"]`);
      await form.scrollIntoViewIfNeeded();
      await form.getByLabel('Mode').selectOption('round_robin');
      await form.getByLabel('Tags requiring skills').fill('vip=');
      await form.getByRole('button', { name: 'Save routing' }).click();
      await form.getByRole('alert').filter({ hasText: 'skill_tags' }).waitFor();
      assert.equal((await api(hub.base, adminToken, `/teams/${team.id}/routing`)).mode, 'manual');

      // …then saved.
      await form.getByLabel('Tags requiring skills').fill('billing=finance');
      await form.getByLabel('When an agent goes offline').selectOption('return_to_queue');
      await form.getByLabel('after (seconds)').fill('120');
      await form.getByRole('button', { name: 'Save routing' }).click();
      await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const saved = await api(hub.base, adminToken, `/teams/${team.id}/routing`);
      assert.equal(saved.mode, 'round_robin');
      assert.equal(saved.offline_policy, 'return_to_queue');
      assert.equal(saved.offline_grace_secs, 120);
      assert.deepEqual(saved.skill_tags, { billing: 'finance' });
      const box = await form.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= width + 1, `the routing form fits the screen: ${JSON.stringify(box)}`);
      await screenshot(page, `routing-admin-${width}`);

      // A ticket for the team goes to the online agent, and the history says why.
      const ticket = await api(hub.base, adminToken, '/tickets', {
        method: 'POST',
        body: { subject: `Routed at ${width}`, body: 'Please help with my invoice.', requester_email: `routed${width}@example.com`, team_id: team.id },
      });
      await waitFor(async () => (await api(hub.base, adminToken, `/tickets/${ticket.id}`)).assignee_id === ana.id,
        { timeout: 10_000, message: 'the router assigns the ticket to Ana' }).catch((error) => {
        throw new Error(`${error.message}\n${hub.logs(60)}`);
      });
      await page.goto(`${hub.base}/#/tickets/${ticket.id}`);
      const history = page.getByRole('region', { name: 'Assignment history' });
      await history.getByText('round robin: Ana Agent was first in turn').first().waitFor();
      await history.locator('summary', { hasText: 'Why' }).first().click();
      await history.getByText(/Ana Agent: \d+ of 50/).first().waitFor();
      await screenshot(page, `routing-explanation-${width}`);
      // The one refusal above is the 422 the form showed.
      assert.deepEqual(consoleErrors(page, { ignore: [/status of 422.*\/routing/] }), []);
      await agentPage.close();
      await page.close();
    });
  }
});
