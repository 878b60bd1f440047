// Shared by the browser suite's test files (not a test file itself: node --test runs only
// *.test.mjs here): playwright-core from the tools folder, and Debian's chromium launched the
// same way for every file.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

export const require = createRequire(process.env.NODE_PATH ? process.env.NODE_PATH + '/' : import.meta.url);
const { chromium } = require('playwright-core');

/**
 * Headless chromium (CHROMIUM, default /usr/bin/chromium) with no network of its own. Shared
 * memory goes to /tmp (`--disable-dev-shm-usage`): a container's /dev/shm may be as small as
 * 64 MiB, and a renderer that runs out of it crashes ("Target crashed") at a random page.
 */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs `page` in through the sign-in form and waits to leave the sign-in page. */
export async function signInAs(page, base, username, password) {
  await page.goto(`${base}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
}

/**
 * A new browser context and page: JavaScript on or off, the test's timeouts (`timeout`,
 * milliseconds), and the page's uncaught errors and console errors collected in `errors` (tests
 * assert there are none). Close the returned `context` when done.
 */
export async function newPage(browser, { javascript, timeout, locale, viewport }) {
  const context = await browser.newContext({ javaScriptEnabled: javascript, ...(locale && { locale }), ...(viewport && { viewport }) });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.setDefaultNavigationTimeout(timeout);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { context, page, errors };
}

/**
 * [`newPage`] (in English) signed in as `username`; with JavaScript on, the page is hydrated
 * before it is returned.
 */
export async function signedInPage(browser, { base, username, password, javascript, timeout, viewport }) {
  const opened = await newPage(browser, { javascript, timeout, locale: 'en-US', viewport });
  await signInAs(opened.page, base, username, password);
  if (javascript) await opened.page.waitForSelector('body[data-hydrated]', { timeout });
  return opened;
}

// The pages every signed-in user may open, and the administrator's own.
const SIGNED_IN = ['/', '/worklist', '/studies', '/patients', '/patients?q=PL-0001', '/mdt', '/mdt/cases/new', '/mdt/meetings', '/mdt/agreement', '/profile', '/account/password'];
const ADMIN = ['/admin/users', '/admin/sites', '/admin/signin-locks', '/admin/audit', '/admin/program', '/admin/tokens', '/admin/models', '/admin/settings', '/admin/export', '/admin/network'];
/**
 * The demo roles (server/src/demo/mod.rs `USERS`): the pages each may open without choosing a
 * record, and a few it may not, as server/src/auth/policy.rs decides (signing in is enough for
 * the clinical lists; `/chronic` is for coordinators, radiologists and administrators,
 * `/referrals` for coordinators and administrators, `/upload` for radiologists and
 * administrators, `/admin/` for administrators). `name`: the name the header shows; `chronic`:
 * whether the role opens chronic findings ([`recordPages`]); `denied`: pages the guard answers
 * with its "not allowed" page (403).
 */
export const ROLES = [
  { username: 'admin', name: 'Ada Admin', pages: [...SIGNED_IN, '/upload', '/chronic', '/referrals', ...ADMIN], chronic: true, denied: [] },
  { username: 'coordinator', name: 'Cora Coordinator', pages: [...SIGNED_IN, '/chronic', '/referrals'], chronic: true, denied: ['/upload', '/admin/users'] },
  { username: 'surgeon', name: 'Sam Surgeon', pages: SIGNED_IN, chronic: false, denied: ['/chronic', '/referrals', '/upload', '/admin/program'] },
  { username: 'radiologist', name: 'Ravi Radiologist', pages: [...SIGNED_IN, '/upload', '/chronic'], chronic: true, denied: ['/referrals', '/admin/users'] },
];

/** A path no route serves: the app's "page not found", answered 404. */
export const UNKNOWN_PAGE = '/no-such-page';

/**
 * The records behind a figure of the programme dashboard (administrators only), as the
 * dashboard links them for a wide period: the first count of the all-cancers row that links
 * (a count of 0 does not), else the series screened.
 */
export async function programRecordsPage(page, base) {
  const today = new Date().toISOString().slice(0, 10);
  await page.goto(`${base}/admin/program?from=2025-01-01&to=${today}`);
  const figure = page.locator('[data-testid=program-table] tr[data-cancer=all] td a');
  const link = (await figure.count()) > 0 ? figure.first() : page.locator('.program-series .stats a').first();
  const href = await link.getAttribute('href');
  assert.match(href ?? '', /^\/admin\/program\/records\?figure=/, 'the dashboard links the records behind a figure');
  return href;
}

/**
 * One page of each kind that shows a record of the demo program: a finding, a study, a series
 * in the slice viewer, a chronic finding (unless `chronic` is false: the role may not open
 * them), a patient record and a tracked lesion, a tumour-board case and a meeting.
 */
export async function recordPages(page, base, { chronic = true } = {}) {
  const pages = [];
  const first = async (path, selector) => {
    await page.goto(`${base}${path}`);
    const href = await page.locator(selector).first().getAttribute('href').catch(() => null);
    if (href) pages.push(href);
  };
  await first('/worklist', 'a.open-finding');
  await first('/studies', '[data-testid=studies] a');
  // A demo phantom's study with images, then its slice viewer.
  await first('/studies?patient_id=PH-2601-0001', '[data-testid=studies] a');
  const study = pages.at(-1);
  if (study?.startsWith('/studies/')) await first(study, '[data-testid=series] a');
  // The tumour board: a case and a meeting (the presentation mode has no navigation frame; the
  // accessibility walk adds it).
  await first('/mdt', '[data-testid=case-link]');
  await first('/mdt/meetings', '[data-testid=meeting-row] a');
  if (chronic) await first('/chronic', '[data-testid=chronic-row] a');
  // The demo's returning patient with four scans (server/src/demo/chronic.rs): charts and years.
  await first('/patients?q=PL-0001', '[data-testid=patient-row] a');
  // The demo's tracked lung nodule (server/src/demo/lesions.rs): its record, then its own page.
  await first('/patients?q=PL-0005', '[data-testid=patient-row] a');
  const record = pages.at(-1);
  if (record?.startsWith('/patients/')) await first(record, '[data-testid=lesion-row] a');
  return pages;
}

/**
 * Sets the signed-in user's language back to English (a switch is saved in their profile, which
 * the suite's other tests share); best effort, for a `finally`.
 */
export async function restoreEnglish(page, base) {
  await page.request
    .post(`${base}/language`, { form: { language: 'en', back: '/' }, headers: { origin: base }, maxRedirects: 0 })
    .catch(() => {});
}
