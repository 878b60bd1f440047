// Browser suite for cross-site referral, against the demo's network (server/src/demo/referral.rs):
// Riverside Clinic (DEMO-RC, a community health centre) refers findings up to Demo General
// Hospital (DEMO-GH, provincial), with referrals in every state. The clinic's coordinator
// follows its outgoing referrals and their outcomes; the hospital's coordinator accepts one that
// waits for it; the administrator reads the network; the pages in Chinese. Runs twice, with
// JavaScript off (plain form posts) and on (hydrated), each against its own freshly seeded
// database; nothing here depends on how many referrals the demo holds. Each run accepts one
// requested referral and changes nothing else (the demo seeds two requested ones, so one still
// waits for the other suites).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newPage, signInAs, signedInPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
// Generous: the CI machine is small and a debug build renders slowly.
const TIMEOUT = 60000;
const LABELS = { requested: 'Requested', accepted: 'Accepted', declined: 'Declined', withdrawn: 'Withdrawn' };
const LABELS_ZH = { requested: '待接收', accepted: '已接收', declined: '已拒绝', withdrawn: '已撤回' };

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** `path` once `selector` is on it (and, with JavaScript, once the page is hydrated). */
async function open(page, path, selector) {
  await page.goto(`${BASE}${path}`);
  await page.waitForSelector(selector);
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

/** Every row of the referral list: its id, finding, status and the status's words. */
const rowsOf = (page) =>
  page.locator('table[data-testid=referrals] tbody tr[data-testid=referral-row]').evaluateAll((rows) =>
    rows.map((r) => ({
      id: r.dataset.referral,
      finding: r.dataset.finding,
      kase: r.dataset.case,
      status: r.dataset.status,
      label: r.querySelector('[data-testid=referral-status]')?.textContent.trim(),
      outcome: r.querySelector('[data-testid=referral-outcome]')?.textContent.trim() ?? null,
      forms: [...r.querySelectorAll('form[data-testid^=referral-action-]')].map((f) => f.dataset.testid.replace('referral-action-', '')),
    })));

test(`the clinic follows its outgoing referrals, their statuses and outcomes (${MODE})`, async () => {
  const { context, page, errors } = await signedInPage(browser, { base: BASE, username: 'coordinator-rc', password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT });
  try {
    await open(page, '/referrals?direction=outgoing', 'table[data-testid=referrals]');
    assert.equal(await page.getAttribute('[data-testid=direction-outgoing]', 'aria-current'), 'page');
    const rows = await rowsOf(page);
    const statuses = new Set(rows.map((r) => r.status));
    for (const status of Object.keys(LABELS)) assert.ok(statuses.has(status), `a ${status} referral is listed: ${[...statuses]}`);
    for (const row of rows) {
      assert.equal(row.label, LABELS[row.status], `referral ${row.id}: its status in words`);
      // The sender only withdraws, and only what is still active.
      const active = row.status === 'requested' || row.status === 'accepted';
      assert.deepEqual(row.forms, active ? ['withdraw'] : [], `referral ${row.id}: the forms offered`);
    }
    assert.ok(rows.some((r) => r.status === 'accepted' && r.outcome), 'an accepted referral reports its outcome');

    // The status filter is a GET form that keeps the direction.
    await page.selectOption('[data-testid=referral-filters] select[name=status]', 'declined');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('status') === 'declined'),
      page.click('[data-testid=referral-filters] button[type=submit]'),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('direction'), 'outgoing');
    await page.waitForSelector('table[data-testid=referrals]');
    if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
    const declined = await rowsOf(page);
    assert.ok(declined.length >= 1);
    assert.deepEqual([...new Set(declined.map((r) => r.status))], ['declined']);

    // The Incoming link keeps the filter it does not change and marks itself current.
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('direction') === 'incoming'),
      page.click('[data-testid=direction-incoming]'),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('status'), 'declined');
    await page.waitForSelector('[data-testid=direction-incoming][aria-current=page]');

    // An accepted referral's finding: the clinic follows it read-only, the work-up at the hospital.
    await open(page, '/referrals?direction=outgoing&status=accepted', 'table[data-testid=referrals]');
    const accepted = (await rowsOf(page)).filter((r) => r.finding);
    assert.ok(accepted.length >= 1, 'an accepted referral of a finding');
    await open(page, `/findings/${accepted[0].finding}`, '[data-testid=referrals-card]');
    assert.match(await page.textContent('[data-testid=referral-read-only]'), /DEMO-GH/);
    assert.equal(await page.locator(`[data-testid=referrals-card] tr[data-referral="${accepted[0].id}"]`).count(), 1);

    // The home page tells the clinic the outcomes, each linked to its finding (or case).
    await open(page, '/', '[data-testid=referral-outcomes]');
    const outcomes = page.locator('[data-testid=outcome-list] li');
    assert.ok(await outcomes.count() >= 1, 'an outcome is reported on the home page');
    assert.match(await outcomes.first().locator('a').getAttribute('href'), /^\/(findings|mdt\/cases)\/\d+$/);
    assert.match(await outcomes.first().textContent(), /DEMO-RC → DEMO-GH/);
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});

test(`the hospital accepts a requested referral from its incoming list (${MODE})`, async () => {
  const { context, page, errors } = await signedInPage(browser, { base: BASE, username: 'coordinator', password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT });
  try {
    await open(page, '/referrals', 'table[data-testid=referrals]');
    assert.equal(await page.getAttribute('[data-testid=direction-incoming]', 'aria-current'), 'page', 'incoming by default');
    const rows = await rowsOf(page);
    const waiting = rows.find((r) => r.finding && r.forms.includes('accept'));
    assert.ok(waiting, `a referral waits for the hospital: ${JSON.stringify(rows.map((r) => r.status))}`);
    assert.equal(waiting.status, 'requested');
    assert.deepEqual(waiting.forms, ['accept', 'decline'], 'the receiving end accepts or declines');

    const note = `Booked for the next list (e2e, ${MODE})`;
    const form = page.locator(`tr[data-referral="${waiting.id}"] form[data-testid=referral-action-accept]`);
    await form.locator('input[name=note]').fill(note);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.has('referral') || url.searchParams.has('error')),
      form.locator('button[type=submit]').click(),
    ]);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('error'), null, 'accepted, not refused');
    assert.equal(url.searchParams.get('referral'), 'accepted');
    await page.waitForSelector('[data-testid=referral-notice]');
    if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
    const row = page.locator(`tr[data-referral="${waiting.id}"]`);
    assert.equal(await row.getAttribute('data-status'), 'accepted');
    assert.equal((await row.locator('[data-testid=referral-status]').textContent()).trim(), 'Accepted');
    assert.match(await row.textContent(), new RegExp(note.replace(/[()]/g, '\\$&')));
    assert.equal(await row.locator('form[data-testid^=referral-action-]').count(), 0, 'nothing more for the hospital to decide');

    // Its finding: the referral card shows it accepted, and the hospital now works it up.
    await open(page, `/findings/${waiting.finding}`, '[data-testid=referrals-card]');
    const card = page.locator(`[data-testid=referrals-card] tr[data-referral="${waiting.id}"]`);
    assert.equal(await card.getAttribute('data-status'), 'accepted');
    assert.equal(await page.locator('[data-testid=referral-read-only]').count(), 0, 'the hospital is not read-only');
    assert.ok(await page.locator('[data-testid=actions] form').count() >= 1, 'the hospital records the work-up');
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});

test(`the clinic follows a tumour-board case the hospital's board decided (${MODE})`, async () => {
  const { context, page, errors } = await signedInPage(browser, { base: BASE, username: 'coordinator-rc', password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT });
  try {
    await open(page, '/referrals?direction=outgoing&outcome=reported', 'table[data-testid=referrals]');
    const decided = (await rowsOf(page)).find((r) => r.kase);
    assert.ok(decided, 'the demo\'s larynx case referral reports its decision');
    assert.equal(decided.status, 'accepted');
    assert.equal(decided.outcome, 'Board decision signed');
    const row = page.locator(`tr[data-referral="${decided.id}"]`);
    assert.equal(await row.getByTestId('referral-finding').getAttribute('href'), `/mdt/cases/${decided.kase}`);
    assert.match(await row.textContent(), /Tumour board review/);

    // The case page: decided at the hospital's board, followed read-only from the clinic.
    await open(page, `/mdt/cases/${decided.kase}`, '[data-testid=referrals-card]');
    assert.match(await page.getByTestId('case-status').first().textContent(), /Decided/);
    assert.match(await page.textContent('[data-testid=referral-read-only]'), /DEMO-GH/);
    assert.equal(await page.locator('[data-testid=refer-form]').count(), 0, 'nothing to refer again');
    assert.equal(await page.locator(`[data-testid=referrals-card] tr[data-referral="${decided.id}"]`).count(), 1);
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});

test(`the administrator reads the referral network (${MODE})`, async () => {
  const { context, page, errors } = await signedInPage(browser, { base: BASE, username: 'admin', password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT });
  try {
    await open(page, '/admin/sites', '[data-testid=network-link]');
    await open(page, '/admin/network', 'table[data-testid=network-sites]');
    const level = (site) => page.locator(`tr[data-site="${site}"] select[name=level]`).inputValue();
    assert.equal(await level('DEMO-RC'), 'community');
    assert.equal(await level('DEMO-GH'), 'provincial');
    assert.match(await page.textContent('tr[data-site="DEMO-RC"]'), /Riverside Clinic/);
    assert.equal(await page.locator('tr[data-testid=network-route][data-from="DEMO-RC"][data-to="DEMO-GH"]').count(), 1);
    assert.match(await page.textContent('nav.mainnav'), /Referrals/);
    assert.match(await page.textContent('nav.mainnav'), /Network/);

    // Saving a level as it stands: the form round-trips and the network is unchanged.
    await Promise.all([
      page.waitForURL((url) => url.searchParams.has('saved') || url.searchParams.has('error')),
      page.click('tr[data-site="DEMO-RC"] [data-testid=set-level] button[type=submit]'),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('saved'), 'level');
    await page.waitForSelector('[data-testid=network-notice]');
    assert.equal(await level('DEMO-RC'), 'community');
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});

test(`the referral pages in Chinese (${MODE})`, async () => {
  // A browser set to Chinese; the demo users have chosen no language, so nothing is saved.
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT, locale: 'zh-CN' });
  try {
    await signInAs(page, BASE, 'coordinator-rc', PASSWORD);
    await open(page, '/referrals?direction=outgoing', 'table[data-testid=referrals]');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
    assert.match(await page.textContent('h1'), /转诊/);
    assert.match(await page.textContent('nav.mainnav'), /转诊/);
    for (const row of await rowsOf(page)) assert.equal(row.label, LABELS_ZH[row.status], `referral ${row.id}`);
    const withdraw = page.locator('form[data-testid=referral-action-withdraw] button').first();
    assert.equal((await withdraw.textContent()).trim(), '撤回');
    await open(page, '/', '[data-testid=referral-outcomes]');
    assert.match(await page.textContent('[data-testid=referral-outcomes] h2'), /转出转诊的结果/);
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});
