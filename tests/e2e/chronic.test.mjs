// Browser suite for the chronic-disease pathway: the coordinator opens the chronic list, finds the
// demo's new fatty-liver finding (PL-0001, Okafor^Grace: liver 56 → 49 → 43 → 36 HU over three
// years, seeded by server/src/demo/longitudinal.rs), sends the letter to the primary-care
// physician through the page's form, sees the status and history change, and opens the printable
// letter: addressed to that physician, with the liver figure against its 40 HU cut-off and the
// scans behind it. Each run has its own freshly seeded database (E2E_JAVASCRIPT=off, then =on).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, signInAs, newPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
const TIMEOUT = 60000;
const PHYSICIAN = 'Dr. Ada Mensah, Riverside Family Practice';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test(`the coordinator sends the letter for a fatty liver and prints it (${MODE})`, async () => {
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT, locale: 'en-US' });
  try {
    await signInAs(page, BASE, 'coordinator', PASSWORD);
    await page.goto(`${BASE}/chronic?status=new&kind=steatosis`);
    const row = page.locator('[data-testid=chronic-row]', { hasText: 'PL-0001' });
    await row.waitFor();
    await page.goto(`${BASE}${await row.locator('a').first().getAttribute('href')}`);
    if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
    assert.match(await page.getByTestId('chronic-status').textContent(), /New/);
    assert.match(await page.getByTestId('chronic-value').textContent(), /36 HU/);

    const form = page.getByTestId('form-send_letter');
    await form.locator('input[name=physician]').fill(PHYSICIAN);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.has('done') || url.searchParams.has('error')),
      form.locator('button[type=submit]').click(),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('error'), null);
    await page.getByTestId('notice').waitFor();
    assert.match(await page.getByTestId('chronic-status').textContent(), /Letter sent/);
    assert.equal((await page.getByTestId('chronic-physician').textContent()).trim(), PHYSICIAN);
    const kinds = await page.locator('[data-testid=chronic-history] li').evaluateAll((items) => items.map((i) => i.dataset.kind));
    assert.equal(kinds[0], 'send_letter', 'newest first');

    // The printable letter (askama, server-rendered): to the physician, the figure, the trend.
    const href = await page.getByTestId('letter-link').getAttribute('href');
    const letter = await context.newPage();
    const response = await letter.goto(`${BASE}${href}`);
    assert.equal(response.status(), 200);
    const text = await letter.locator('body').textContent();
    assert.match(text, new RegExp(`To: ${PHYSICIAN.replace('.', '\\.')}`));
    assert.match(text, /Okafor/);
    assert.match(text, /36 HU/);
    assert.match(text, /cut-off: below 40 HU/);
    assert.equal(await letter.locator('table tbody tr').count() >= 4, true, 'the four scans behind it');
    await letter.close();
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});
