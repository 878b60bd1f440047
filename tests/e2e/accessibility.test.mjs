// Accessibility: axe-core (WCAG 2.0/2.1 A and AA rules) on every page each demo role opens (the
// pages the policy lets it open and one record of each kind), on the app's "page not found" and
// the guard's "not allowed" page, and on the sign-in page signed out; a serious or critical
// violation fails the suite with the rule and the elements. The administrator's walk and the
// sign-in page are checked in English and in Simplified Chinese; a coordinator's, a surgeon's
// and a radiologist's pages (the same pages with their roles' controls) in Chinese. axe runs
// inside the page, so this file needs JavaScript: with the JavaScript-off run it is skipped (the
// pages it checks are the same HTML).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, programRecordsPage, recordPages, require, restoreEnglish, ROLES, signInAs, UNKNOWN_PAGE } from './browser.mjs';

const { AxeBuilder } = require('@axe-core/playwright');
const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const SKIP = !JAVASCRIPT && 'axe needs JavaScript in the page';
// How long a page may take to load or hydrate (a debug build on a busy 2-core machine).
const TIMEOUT = 30000;

let browser;
before(async () => { browser = await launchChromium(); });
after(async () => { await browser?.close(); });

/** The serious and critical violations on the page, as "rule: selector" lines. */
async function violations(page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')}`));
}

/**
 * Checks `path`, in `language`, in a fresh tab of `context` (same sign-in): over a hundred
 * hydrated pages and axe runs in one tab grow one renderer's memory until it can crash; each
 * check starts from nothing. `status`: what the page is served with; `hydrates`: whether it is the app's page
 * (the guard's "not allowed" page has no script to wait for).
 */
async function checkIn(context, language, { path, status = 200, hydrates = true }) {
  const tab = await context.newPage();
  tab.setDefaultTimeout(TIMEOUT);
  try {
    const response = await tab.goto(`${BASE}${path}`);
    assert.equal(response.status(), status, `${language} ${path}: status`);
    if (hydrates) await tab.waitForSelector('body[data-hydrated]');
    assert.equal(await tab.getAttribute('html', 'lang'), language, `${path}: lang`);
    return (await violations(tab)).map((v) => `${language} ${path}: ${v}`);
  } finally {
    await tab.close();
  }
}

for (const role of ROLES) {
  // Each page takes seconds to hydrate and check: the other roles' walks, whose pages' frame and
  // kinds the administrator's covers in both languages, are walked in one.
  const languages = role.username === 'admin' ? ['en', 'zh-Hans'] : ['zh-Hans'];
  test(`${role.username}: every page meets WCAG 2.1 AA as axe-core checks it (${languages.join(', ')})`, { skip: SKIP }, async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const found = [];
    try {
      await signInAs(page, BASE, role.username, PASSWORD);
      const records = await recordPages(page, BASE, { chronic: role.chronic });
      const meeting = records.find((path) => path.startsWith('/mdt/meetings/'));
      assert.ok(meeting, 'the demo has a tumour-board meeting');
      // The presentation mode has no navigation frame: its own page.
      records.push(`${meeting}/present`);
      if (role.username === 'admin') records.push(await programRecordsPage(page, BASE));
      const pages = [
        ...[...role.pages, ...records].map((path) => ({ path })),
        { path: UNKNOWN_PAGE, status: 404 },
        ...role.denied.map((path) => ({ path, status: 403, hydrates: false })),
      ];
      for (const language of languages) {
        await page.goto(`${BASE}/profile`);
        await Promise.all([page.waitForURL(/\/profile/), page.click(`form.language-switch button[value="${language}"]`)]);
        assert.equal(await page.getAttribute('html', 'lang'), language);
        for (const entry of pages) found.push(...(await checkIn(context, language, entry)));
      }
      assert.deepEqual(found, [], `accessibility violations:\n${found.join('\n')}`);
    } finally {
      // The switch saved the choice in the user's profile: give the other tests their English back.
      await restoreEnglish(page, BASE);
      await context.close();
    }
  });
}

test('the sign-in page, signed out, meets WCAG 2.1 AA in both languages', { skip: SKIP }, async () => {
  const found = [];
  // The browser's language decides for a visitor.
  for (const [locale, language] of [['en-US', 'en'], ['zh-CN', 'zh-Hans']]) {
    const context = await browser.newContext({ locale });
    try {
      found.push(...(await checkIn(context, language, { path: '/login' })));
      found.push(...(await checkIn(context, language, { path: '/login?notice=invalid' })));
    } finally {
      await context.close();
    }
  }
  assert.deepEqual(found, [], `accessibility violations:\n${found.join('\n')}`);
});
