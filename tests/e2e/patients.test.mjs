// Browser suite for the longitudinal patient record: the coordinator opens the patient search from
// the navigation, finds the demo's returning patient by name (PL-0001, Okafor^Grace, four scans
// over three years seeded by server/src/demo/chronic.rs, her liver attenuation falling below the
// steatosis cut-off on the last), opens her record, sees the liver trend with the last scan
// beyond the cut-off and the timeline's year markers, newest first, and narrows the timeline to
// chronic findings. It only reads, so it runs any number of times; twice here, with
// E2E_JAVASCRIPT=off (pure server rendering, GET forms) and =on (hydrated).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, signInAs, newPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
// Generous: the CI machine is small and a debug build renders slowly.
const TIMEOUT = 60000;

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function waitForHydration(page) {
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

/** Polls `check` until it holds (a hydrated page may swap its content in place). */
async function waitUntil(check, what, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `data-kind` of every timeline entry on the page. */
function timelineKinds(page) {
  return page.locator('[data-testid=timeline-item]').evaluateAll((items) => items.map((item) => item.dataset.kind));
}

test(`the coordinator finds a patient and reads the longitudinal record (${MODE})`, async () => {
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT, locale: 'en-US' });
  try {
    await signInAs(page, BASE, 'coordinator', PASSWORD);
    await waitForHydration(page);

    // The navigation offers the search to every role; before a query, a hint and no table.
    await Promise.all([page.waitForURL(/\/patients$/), page.click('nav.mainnav a[href="/patients"]')]);
    await waitForHydration(page);
    await page.locator('[data-testid=patient-hint]').waitFor();
    assert.equal(await page.locator('[data-testid=patient-results]').count(), 0, 'no results before a search');

    // Search by family name (a GET form: the address carries the query).
    await page.fill('[data-testid=patient-search] input[name=q]', 'Okafor');
    await Promise.all([
      page.waitForURL(/\/patients\?q=Okafor/),
      page.click('[data-testid=patient-search] button[type=submit]'),
    ]);
    await waitForHydration(page);
    const row = page.locator('[data-testid=patient-row]', { hasText: 'PL-0001' });
    await row.waitFor();
    assert.match(await row.textContent(), /Okafor Grace/, 'the name as people read it');
    assert.match(await page.textContent('[data-testid=patient-total]'), /\d/);

    // The record: identity, the liver trend, the timeline by year.
    await Promise.all([page.waitForURL(/\/patients\/[0-9a-f-]{36}$/), row.locator('a').first().click()]);
    await waitForHydration(page);
    await page.locator('[data-testid=patient-heading]').waitFor();
    assert.match(await page.textContent('[data-testid=patient-heading]'), /Okafor Grace/);
    assert.match(await page.textContent('[data-testid=patient-identity]'), /PL-0001/);
    assert.match(await page.textContent('[data-testid=patient-identity]'), /1961-04-17/);

    const liver = page.locator('[data-testid=trend-liver]');
    await liver.locator('[data-testid=chronic-trend]').waitFor();
    assert.ok(await liver.locator('circle.trend-dot').count() >= 4, 'one point per scan');
    assert.ok(await liver.locator('circle.trend-dot.beyond').count() >= 1, 'the last scan is below the cut-off');
    assert.equal(await liver.locator('[data-testid=trend-cut-off]').count(), 1, 'the cut-off is drawn');

    const years = await page.locator('[data-testid=timeline-year]').allTextContents();
    assert.ok(years.length >= 3, `scans over three years are grouped by year (${years})`);
    assert.deepEqual(years, [...years].sort().reverse(), 'newest year first');
    const everything = await timelineKinds(page);
    assert.ok(everything.includes('study'), `the studies are on the timeline (${everything})`);
    assert.ok(everything.includes('chronic'), `the chronic finding is on the timeline (${everything})`);

    // Only chronic findings: the filter reloads the record with ?kind=chronic.
    await page.selectOption('[data-testid=timeline-filters] select[name=kind]', 'chronic');
    await Promise.all([
      page.waitForURL(/[?&]kind=chronic/),
      page.click('[data-testid=timeline-filters] button[type=submit]'),
    ]);
    await waitForHydration(page);
    await waitUntil(async () => {
      const kinds = await timelineKinds(page);
      return kinds.length > 0 && kinds.every((kind) => kind === 'chronic' || kind === 'chronic_event');
    }, 'the timeline shows only chronic findings');
    assert.equal(await page.inputValue('[data-testid=timeline-filters] select[name=kind]'), 'chronic');
    // The trends span the whole record whatever the timeline shows.
    assert.equal(await page.locator('[data-testid=trend-liver] [data-testid=chronic-trend]').count(), 1);

    assert.deepEqual(errors, [], 'no browser errors');
  } finally {
    await context.close();
  }
});
