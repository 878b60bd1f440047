// Accessibility: axe-core (WCAG 2.0/2.1 A and AA rules) on every page an administrator and a
// coordinator open, in English and in Simplified Chinese; a serious or critical violation fails
// the suite with the rule and the elements. axe runs inside the page, so this file needs
// JavaScript: with the JavaScript-off run it is skipped (the pages it checks are the same HTML).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, recordPages, require, restoreEnglish, signInAs } from './browser.mjs';

const { AxeBuilder } = require('@axe-core/playwright');
const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const PAGES = ['/', '/worklist', '/studies', '/upload', '/profile', '/admin/users', '/admin/sites', '/account/password', '/admin/signin-locks', '/admin/audit', '/admin/program', '/admin/tokens', '/admin/models', '/admin/settings', '/admin/export', '/mdt', '/mdt/cases/new', '/mdt/meetings', '/mdt/agreement', '/chronic', '/referrals', '/admin/network', '/patients', '/patients?q=PL-0001'];

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

test('every page meets WCAG 2.1 AA as axe-core checks it, in both languages', { skip: !JAVASCRIPT && 'axe needs JavaScript in the page' }, async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  const found = [];
  try {
    await page.goto(`${BASE}/login`);
    found.push(...(await violations(page)).map((v) => `/login: ${v}`));
    await signInAs(page, BASE, 'admin', PASSWORD);
    const records = await recordPages(page, BASE);
    const meeting = records.find((path) => path.startsWith('/mdt/meetings/'));
    assert.ok(meeting, 'the demo has a tumour-board meeting');
    const pages = [...PAGES, ...records, `${meeting}/present`];
    for (const language of ['en', 'zh-Hans']) {
      await page.goto(`${BASE}/profile`);
      await Promise.all([page.waitForURL(/\/profile/), page.click(`form.language-switch button[value="${language}"]`)]);
      // A fresh tab per page (same sign-in): over a hundred hydrated pages and axe runs in one
      // tab grow one renderer's memory until it can crash; each check starts from nothing.
      for (const path of pages) {
        const tab = await context.newPage();
        try {
          await tab.goto(`${BASE}${path}`);
          await tab.waitForSelector('body[data-hydrated]', { timeout: 30000 });
          found.push(...(await violations(tab)).map((v) => `${language} ${path}: ${v}`));
        } finally {
          await tab.close();
        }
      }
    }
    assert.deepEqual(found, [], `accessibility violations:\n${found.join('\n')}`);
  } finally {
    // The switch saved the choice in admin's profile: give the other tests their English back.
    await restoreEnglish(page, BASE);
    await context.close();
  }
});
