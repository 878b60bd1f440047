// A walk of every page in each language, as a Chinese-reading administrator would take it: the
// switch in the header changes the language without signing out, every page then carries
// `lang` and Chinese text, and nothing fails in the browser. Run with JavaScript off and on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, recordPages, restoreEnglish, signInAs } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';

// Every page an administrator can open without choosing a record (records are walked below).
const PAGES = ['/', '/worklist', '/studies', '/upload', '/profile', '/admin/users', '/admin/sites', '/account/password', '/admin/signin-locks', '/admin/audit', '/admin/program', '/admin/tokens', '/admin/models', '/admin/settings', '/admin/export', '/mdt', '/mdt/meetings', '/mdt/agreement', '/chronic', '/referrals', '/admin/network', '/patients', '/patients?q=PL-0001'];
const HAN = /[\u4e00-\u9fff]/;

let browser;
before(async () => { browser = await launchChromium(); });
after(async () => { await browser?.close(); });

/** Collects `page`'s uncaught errors and console errors into `errors`. */
function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
}

async function walk(context, language, errors) {
  const visited = [];
  // One finding, one study, one chronic finding and one patient record of the demo too.
  const lister = await context.newPage();
  const pages = [...PAGES, ...(await recordPages(lister, BASE))];
  await lister.close();
  for (const path of pages) {
    // A tab of its own for each page: one tab hydrating fifty pages in turn has had its
    // renderer crash on a busy 2-core machine, which says nothing about any page.
    const page = await context.newPage();
    watch(page, errors);
    try {
      await check(page, path, language);
    } finally {
      await page.close();
    }
    visited.push(path);
  }
  assert.deepEqual(errors, [], `browser errors in ${language}`);
  return visited;
}

/** One page in `language`: served, hydrated, `lang` set, its words and navigation in it. */
async function check(page, path, language) {
  const response = await page.goto(`${BASE}${path}`);
  assert.equal(response.status(), 200, `${language} ${path}`);
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: 30000 });
  assert.equal(await page.getAttribute('html', 'lang'), language, `${path}: lang`);
  // The page's own words (a study page's heading is its patient's name, so the whole main
  // area is read) and the frame's navigation follow the language.
  const main = (await page.locator('main').first().textContent({ timeout: 10000 })) ?? '';
  const nav = (await page.locator('nav.mainnav').textContent()) ?? '';
  if (language === 'zh-Hans') {
    assert.match(main, HAN, `${path}: the page is in Chinese`);
    assert.match(nav, /工作列表/, `${path}: the navigation is in Chinese (${nav})`);
  } else {
    assert.match(nav, /Worklist/, `${path}: the navigation is in English (${nav})`);
    assert.doesNotMatch(nav, HAN);
  }
  assert.equal(await page.locator('[data-testid=error]').count(), 0, `${path}: no error`);
}

test(`every page in English and in Simplified Chinese (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const context = await browser.newContext({ javaScriptEnabled: JAVASCRIPT, locale: 'en-US' });
  const page = await context.newPage();
  const errors = [];
  watch(page, errors);
  try {
    await signInAs(page, BASE, 'admin', PASSWORD);
    const english = await walk(context, 'en', errors);
    assert.ok(english.length >= PAGES.length);

    // The header's switch: back on the same page, still signed in, now in Chinese.
    await page.goto(`${BASE}/worklist`);
    await Promise.all([page.waitForURL(/\/worklist/), page.click('form.language-switch button[value="zh-Hans"]')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
    assert.match(await page.textContent('[data-testid=whoami]'), /Ada Admin/);
    await walk(context, 'zh-Hans', errors);

    // And back.
    await Promise.all([page.waitForURL(/./), page.click('form.language-switch button[value="en"]')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
  } finally {
    // The switch saved the choice in admin's profile: whatever happened, English again.
    await restoreEnglish(page, BASE);
    await context.close();
  }
});
