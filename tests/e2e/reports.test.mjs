// Browser suite for the printable reports: the coordinator opens the demo's lesion-tracking
// patient's newest study (PL-0005, server/src/demo/lesions.rs), follows the page's screening
// report link and gets a PDF whose text (read by poppler's pdftotext, not by Elysium) names the
// patient and the lung finding; the page printed (print media) drops the navigation and keeps the
// study. A surgeon gets a decided tumour-board case's summary the same way. With JavaScript off,
// every demo study's report is fetched too (the studies from QIDO-RS). It only reads, so it runs
// any number of times; twice here, with E2E_JAVASCRIPT=off and =on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, signedInPage } from './browser.mjs';

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

function signedIn(username) {
  return signedInPage(browser, { base: BASE, username, password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT });
}

/** GETs `href` with the page's session; asserts a PDF and returns its bytes. */
async function fetchPdf(page, href) {
  const response = await page.request.get(new URL(href, BASE).href, { timeout: TIMEOUT });
  assert.equal(response.status(), 200, `${href}: ${response.status()}`);
  assert.equal(response.headers()['content-type'], 'application/pdf', href);
  const body = await response.body();
  assert.equal(body.subarray(0, 5).toString('latin1'), '%PDF-', href);
  return body;
}

/** The PDF's text by poppler's pdftotext, white space runs made single spaces. */
function pdfText(pdf) {
  const dir = mkdtempSync(join(tmpdir(), 'elysium-report-'));
  try {
    const path = join(dir, 'report.pdf');
    writeFileSync(path, pdf);
    return execFileSync('pdftotext', ['-enc', 'UTF-8', path, '-'], { timeout: TIMEOUT }).toString('utf8').split(/\s+/).join(' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`a study's screening report downloads as PDF and the page prints without the application (${MODE})`, async () => {
  const { context, page } = await signedIn('coordinator');
  try {
    await page.goto(`${BASE}/studies?patient_id=PL-0005`);
    const study = page.locator('[data-testid=studies] a').first();
    await study.waitFor();
    await Promise.all([page.waitForURL(/\/studies\/[0-9.]+$/), study.click()]);
    const link = page.locator('[data-testid=report-pdf]');
    await link.waitFor();
    const text = pdfText(await fetchPdf(page, await link.getAttribute('href')));
    for (const expected of ['CT screening report', 'PL-0005', 'Lung cancer', 'Key image', 'It is not a diagnosis.']) {
      assert.ok(text.includes(expected), `${expected} is not in the report: ${text}`);
    }

    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.topbar').evaluate((e) => getComputedStyle(e).display), 'none');
    assert.equal(await link.evaluate((e) => getComputedStyle(e.parentElement).display), 'none');
    assert.ok(await page.locator('[data-testid=study]').isVisible(), 'the study is printed');
  } finally {
    await context.close();
  }
});

test(`a decided tumour-board case's summary downloads as PDF (${MODE})`, async () => {
  const { context, page } = await signedIn('surgeon');
  try {
    await page.goto(`${BASE}/mdt?status=decided`);
    const row = page.locator('[data-testid=case-row][data-status=decided] [data-testid=case-link]').first();
    await row.waitFor();
    await Promise.all([page.waitForURL(/\/mdt\/cases\/\d+$/), row.click()]);
    const link = page.locator('[data-testid=report-pdf]');
    await link.waitFor();
    const text = pdfText(await fetchPdf(page, await link.getAttribute('href')));
    for (const expected of ['Tumour board decision summary', 'AI proposal and board decision', 'Signatures']) {
      assert.ok(text.includes(expected), `${expected} is not in the summary: ${text}`);
    }
  } finally {
    await context.close();
  }
});

test(`every demo study has its report (${MODE})`, { skip: JAVASCRIPT && 'the same HTTP check as with JavaScript off' }, async () => {
  const { context, page } = await signedIn('admin');
  try {
    const response = await page.request.get(`${BASE}/dicomweb/studies?limit=1000`, { headers: { accept: 'application/dicom+json' } });
    assert.equal(response.status(), 200);
    const studies = (await response.json()).map((s) => s['0020000D'].Value[0]);
    assert.ok(studies.length >= 10, `the demo has its studies (${studies.length})`);
    for (const uid of studies) await fetchPdf(page, `/api/v1/studies/${uid}/report.pdf`);
  } finally {
    await context.close();
  }
});
