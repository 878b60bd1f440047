// Browser suite for the programme dashboard: an administrator opens /admin/program for a wide
// period, and every figure on the page equals the JSON API's for the same filter (the referral
// flows' included); the outcome figures add up to the positives; a figure's link lists as many
// records as the figure says; the CSV link downloads CSV; and in Chinese the page and its
// sentences are in Chinese.
// It depends on no demo count, only on page == API and the partition of the positives.
// Runs twice, E2E_JAVASCRIPT=off and =on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, restoreEnglish, signInAs, newPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
const TIMEOUT = 60000;

// `domain::program::Figure::ALL` and `Figure::OUTCOMES` (the classes that partition the positives).
const FIGURES = ['positive', 'reviewed', 'workup_ordered', 'dismissed', 'confirmed_pathology', 'confirmed_imaging',
  'benign', 'no_lesion', 'declined', 'lost', 'open', 'overdue'];
const OUTCOMES = ['dismissed', 'confirmed_pathology', 'confirmed_imaging', 'benign', 'no_lesion', 'declined', 'lost', 'open'];
const COUNTS = ['screened', 'eligible', 'patients', ...FIGURES];
const DAYS = ['median_days_to_outcome', 'p90_days_to_outcome', 'median_days_to_decision', 'median_days_to_treatment'];
// `domain::program::FlowFigure::ALL`: a referral flow's counts.
const FLOW_COUNTS = ['referred', 'requested', 'accepted', 'declined', 'withdrawn', 'outcome_reported'];

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A wide, explicit period: from 1 January 2025 to today (UTC, as the server counts days). */
const QUERY = `from=2025-01-01&to=${new Date().toISOString().slice(0, 10)}`;

async function cell(page, testid) {
  const text = await page.locator(`[data-testid="${testid}"]`).textContent({ timeout: TIMEOUT });
  return (text ?? '').trim();
}

/** A count as shown (thousands grouped by commas). */
async function count(page, testid) {
  const text = await cell(page, testid);
  assert.match(text, /^[\d,]+$/, `${testid}: a count (${text})`);
  return Number(text.replace(/,/g, ''));
}

/** A value shown to one decimal (or whole), "—" for none, equals the API's `expected` (or null). */
async function approximately(page, testid, expected) {
  const text = await cell(page, testid);
  if (expected === null) {
    assert.equal(text, '—', `${testid}: no value`);
    return;
  }
  const shown = Number.parseFloat(text.replace(/,/g, ''));
  assert.ok(Math.abs(shown - expected) <= 0.05 + 1e-9, `${testid}: shows ${text}, the API says ${expected}`);
}

/** The programme table as the JSON API gives it for QUERY (the page's session applies). */
async function programJson(page) {
  const response = await page.request.get(`${BASE}/api/v1/metrics/program?${QUERY}`, { timeout: TIMEOUT });
  assert.equal(response.status(), 200, 'the JSON API answers');
  return response.json();
}

async function open(page, path) {
  const response = await page.goto(`${BASE}${path}`);
  assert.equal(response.status(), 200, path);
  // Links followed before hydration would load the whole page; wait for it, boundedly.
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

test(`the programme dashboard shows the API's figures and they reconcile (${MODE})`, async () => {
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT, locale: 'en-US' });
  try {
    await signInAs(page, BASE, 'admin', PASSWORD);
    // The other suites change the programme while this one runs (they screen uploads and follow
    // findings up): compare the page with the API's answer from just before and just after it.
    let report;
    for (let attempt = 0; attempt < 5 && !report; attempt += 1) {
      const before = await programJson(page);
      await open(page, `/admin/program?${QUERY}`);
      const after = await programJson(page);
      if (JSON.stringify(before) === JSON.stringify(after)) report = after;
    }
    assert.ok(report, 'the programme held still while the page loaded');
    assert.equal(await page.locator('[data-testid=error]').count(), 0, 'no error on the page');

    // The series line and the skipped series per reason.
    assert.equal(await count(page, 'series-screened'), report.screened);
    assert.equal(await count(page, 'series-eligible'), report.eligible_any);
    assert.equal(await count(page, 'series-skipped'), report.skipped);
    for (const skip of report.skipped_by_reason) {
      assert.equal(await count(page, `skip-${skip.reason}`), skip.series, `skipped for ${skip.reason}`);
    }

    // Every cell of every cancer's row and of the total row.
    const rows = [...report.cancers.map((row) => [row.cancer, row]), ['all', report.total]];
    assert.equal(await page.locator('[data-testid=program-table] tr[data-cancer]').count(), rows.length);
    for (const [key, row] of rows) {
      const shown = {};
      for (const figure of COUNTS) {
        shown[figure] = await count(page, `fig-${key}-${figure}`);
        assert.equal(shown[figure], row[figure], `${key} ${figure}`);
      }
      // The outcomes partition the positives, on the page as in the API.
      const outcomes = OUTCOMES.reduce((sum, figure) => sum + shown[figure], 0);
      assert.equal(outcomes, shown.positive, `${key}: the outcome figures add up to the positives`);
      for (const ppv of ['ppv_resolved', 'ppv_all']) {
        await approximately(page, `fig-${key}-${ppv}`, row[ppv].value === null ? null : row[ppv].value * 100);
      }
      for (const days of DAYS) await approximately(page, `fig-${key}-${days}`, row[days]);
    }

    // Every count of every referral flow, and its median days to work-up.
    const flows = report.referral_flows;
    assert.equal(await page.locator('[data-testid=program-flows] tr[data-flow]').count(), flows.length);
    for (const flow of flows) {
      const key = `${flow.from_site}-${flow.to_site}`;
      for (const figure of FLOW_COUNTS) {
        assert.equal(await count(page, `flow-${key}-${figure}`), flow[figure], `${key} ${figure}`);
      }
      await approximately(page, `flow-${key}-median_days_to_workup`, flow.median_days_to_workup);
    }

    // One sentence per cancer with eligible series or positives.
    const described = report.cancers.filter((row) => row.positive > 0 || row.eligible > 0);
    assert.equal(await page.locator('p.program-sentence').count(), described.length);
    for (const row of described) assert.equal(await page.locator(`[data-testid="summary-${row.cancer}"]`).count(), 1);
    assert.equal(await page.locator('[data-testid=program-trend] rect.program-bar').count(), report.weeks.length);

    // The CSV link downloads the table.
    const csv = await page.getAttribute('[data-testid=program-csv]', 'href');
    const download = await page.request.get(new URL(csv, BASE).href, { timeout: TIMEOUT });
    assert.equal(download.status(), 200, csv);
    assert.match(download.headers()['content-type'] ?? '', /^text\/csv/);

    // A figure's link lists as many records as it counts (and shows the first page of them).
    const [name, expected] = [['positive', report.total.positive], ['eligible', report.total.eligible],
      ['screened', report.total.screened]].find(([, n]) => n > 0) ?? [];
    assert.ok(name, 'the programme screened something in the period');
    await Promise.all([
      page.waitForURL(/\/admin\/program\/records\?/, { timeout: TIMEOUT }),
      page.locator(`[data-testid="fig-all-${name}"] a`).click(),
    ]);
    await page.waitForSelector('[data-testid=records-total]', { timeout: TIMEOUT });
    const listed = await count(page, 'records-total');
    const now = (await programJson(page)).total[name];
    // Unless the figure changed in the meantime, exactly the figure; if it did, one of its values.
    if (now === expected) assert.equal(listed, expected, `${name}: the records behind it`);
    else assert.ok([expected, now].includes(listed), `${name}: ${listed} records, the figure went from ${expected} to ${now}`);
    assert.equal(await page.locator('[data-testid=records] tbody tr').count(), Math.min(listed, 100));

    // In Chinese: the heading, and each sentence opens with its year.
    await open(page, `/admin/program?${QUERY}`);
    await page.click('form.language-switch button[value="zh-Hans"]');
    // The switch posts and comes back to this page: the new page is the one in Chinese.
    await page.waitForSelector('html[lang="zh-Hans"]', { state: 'attached', timeout: TIMEOUT });
    await page.waitForLoadState('load', { timeout: TIMEOUT });
    assert.match(new URL(page.url()).pathname, /^\/admin\/program$/);
    if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
    assert.match(await cell(page, 'program-title'), /筛查项目/);
    const sentences = await page.locator('p.program-sentence').allTextContents();
    assert.ok(sentences.length >= described.length, 'the sentences are there in Chinese too');
    for (const sentence of sentences) assert.match(sentence.trim(), /^\d{4}年/, `a sentence in Chinese: ${sentence}`);
    assert.deepEqual(errors, []);
  } finally {
    // The switch saved the choice in admin's profile: whatever happened, English again.
    await restoreEnglish(page, BASE);
    await context.close();
  }
});
