// Browser suite for lesion tracking: the coordinator opens the demo's patient whose lung nodule
// was scanned three times over two years (server/src/demo/lesions.rs: 6, 6.5 and 11 mm in the
// phantoms' ground truth, 730, 379 and 14 days ago), sees one tracked lesion on the record with
// its doubling time, opens its page (size chart, size history, growth between scans); a
// radiologist splits the latest scan off with a reason and joins it back, and both corrections
// show in the history. It leaves the track as it found it, so it runs any number of times;
// twice here, with E2E_JAVASCRIPT=off (pure server rendering, plain forms) and =on (hydrated).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, signInAs, newPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
const TIMEOUT = 60000;

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function freshPage() {
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT, locale: 'en-US' });
  return { context, page, errors };
}

async function waitForHydration(page) {
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

/** Opens PL-0005's record through the search and returns the lesion row's link. */
async function openRecord(page) {
  await page.goto(`${BASE}/patients?q=PL-0005`);
  const row = page.locator('[data-testid=patient-row]', { hasText: 'PL-0005' });
  await row.waitFor();
  await page.goto(`${BASE}${await row.locator('a').first().getAttribute('href')}`);
  await page.locator('[data-testid=lesion-list]').waitFor();
}

/** Submits the form holding `button` and waits for the redirect back with `?done=` or `?error=`. */
async function submit(page, form, reason) {
  await form.locator('input[name=reason]').fill(reason);
  await Promise.all([
    page.waitForURL((url) => url.searchParams.has('done') || url.searchParams.has('error')),
    form.locator('button[type=submit]').click(),
  ]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('error'), null, `refused: ${url.searchParams.get('error')}`);
  await page.locator('[data-testid=notice]').waitFor();
}

test(`the coordinator follows a growing nodule across three scans (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'coordinator', PASSWORD);
    await openRecord(page);
    const rows = page.locator('[data-testid=lesion-row][data-organ=lung]');
    assert.equal(await rows.count(), 1, 'one tracked nodule');
    assert.match(await rows.first().locator('[data-testid=lesion-latest]').textContent(), /11\.0 mm/);
    // 6 → 11 mm over 716 days: VDT = 716 ln 2 / (3 ln(11/6)) = 273 days, under NELSON's 400.
    assert.match(await rows.first().locator('[data-testid=vdt]').textContent(), /^273 /);

    await page.goto(`${BASE}${await rows.first().locator('a').first().getAttribute('href')}`);
    await waitForHydration(page);
    await page.locator('[data-testid=lesion-heading]').waitFor();
    assert.equal(await page.locator('[data-testid=lesion-chart] circle.trend-dot').count(), 3, 'one point per scan');
    const sizes = await page.locator('[data-testid=sighting-diameter]').allTextContents();
    assert.deepEqual(sizes.map((s) => s.trim()), ['6.0 mm', '6.5 mm', '11.0 mm']);
    // 6.5 → 11 mm in 365 days: 365 ln 2 / (3 ln(11/6.5)) = 160 days.
    const vdts = await page.locator('[data-testid=interval-vdt]').allTextContents();
    assert.deepEqual(vdts.map((v) => v.trim()), ['1013', '160']);
    assert.match(await page.locator('[data-testid=nelson]').first().textContent(), /Fast growth/);
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});

test(`a radiologist splits a scan off a track and joins it back (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'radiologist', PASSWORD);
    await openRecord(page);
    const href = await page.locator('[data-testid=lesion-row][data-organ=lung] a').first().getAttribute('href');
    await page.goto(`${BASE}${href}`);
    await waitForHydration(page);
    const historyBefore = await page.locator('[data-testid=lesion-event]').count();

    // Split the latest scan off: the track keeps two scans.
    await submit(page, page.locator('[data-testid=split-form]').last(), 'Checking: a second nodule?');
    assert.equal(await page.locator('[data-testid=sighting]').count(), 2);

    // Join it back from the join form (the only other lung track of this patient).
    await page.locator('[data-testid=join-form]').waitFor();
    await submit(page, page.locator('[data-testid=join-form]'), 'Same nodule after all');
    assert.equal(await page.locator('[data-testid=sighting]').count(), 3);
    const kinds = await page.locator('[data-testid=lesion-event]').evaluateAll((items) => items.map((i) => i.dataset.kind));
    assert.deepEqual(kinds.slice(historyBefore), ['split', 'join']);
    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});
