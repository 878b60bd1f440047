// A walk of every page in each language, as each demo role would take it (the administrator, a
// coordinator, a surgeon and a radiologist, over the pages the policy lets each open, the
// records of the demo among them): the switch in the header changes the language without
// signing out, every page then carries `lang` and Chinese text, no English text of the
// translations is left on a Chinese page, and nothing fails in the browser. The app's "page not
// found" (404), the guard's "not allowed" page (403) and, signed out, the sign-in page are
// walked too. Run with JavaScript off and on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { launchChromium, programRecordsPage, recordPages, restoreEnglish, ROLES, signInAs, UNKNOWN_PAGE } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
const HAN = /[\u4e00-\u9fff]/;
// How long a page may take to load, hydrate or show an element (a debug build on a busy 2-core
// machine): a wait that runs out fails the test with what it waited for.
const TIMEOUT = 30000;
// What Chromium logs (a console error) for a page served with an error status: on the pages
// whose status that is, the status itself, not a failure.
const STATUS_TEXT = { 403: 'Forbidden', 404: 'Not Found' };

/**
 * The English texts of the translations (app/locales/en), cut where a value's interpolations and
 * components go (each piece is a text of its own on the page), that the Chinese translation
 * does not share: those with a word of three letters or more, capitalised or of several words
 * (a lowercase word alone, "admin" or "denied", may be a record's own value).
 */
function englishTexts() {
  const root = new URL('../../app/locales/', import.meta.url);
  const leaves = (value, key = '') =>
    typeof value === 'string' ? [[key, value]] : Object.entries(value).flatMap(([k, v]) => leaves(v, `${key}.${k}`));
  const texts = new Set();
  for (const file of readdirSync(new URL('en/', root)).filter((f) => f.endsWith('.json'))) {
    const chinese = new Map(leaves(JSON.parse(readFileSync(new URL(`zh-Hans/${file}`, root), 'utf8'))));
    for (const [key, english] of leaves(JSON.parse(readFileSync(new URL(`en/${file}`, root), 'utf8')))) {
      if (chinese.get(key) === english) continue;
      for (const piece of english.split(/\{\{[^}]*\}\}|<\/?[A-Za-z_]+\s*\/?>/).map((p) => p.trim())) {
        if (/[A-Za-z]{3}/.test(piece) && (/\s/.test(piece) || /^[A-Z]/.test(piece))) texts.add(piece);
      }
    }
  }
  return [...texts];
}
// Texts of the Chinese pages that equal an English text of the translations without being the
// app's words: a record's own value, or a code.
const NOT_OURS = new Set([
  // The title of the demo's upcoming tumour-board meeting (server/src/demo/board.rs).
  'Tumour board',
]);
const ENGLISH = englishTexts().filter((text) => !NOT_OURS.has(text));

let browser;
before(async () => { browser = await launchChromium(); });
after(async () => { await browser?.close(); });

/** Collects `page`'s uncaught errors and console errors into `errors`. */
function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
}

/**
 * The pages `role` walks: its own pages and one record of each kind it may open (for an
 * administrator, the records behind a figure of the programme dashboard too), then a page no
 * route serves and the pages it may not open. Each: `status`, `frame` (inside the signed-in frame, with the
 * navigation) and `hydrates` (the app's page; the guard's own "not allowed" page has no script).
 */
async function pagesOf(context, role) {
  const lister = await context.newPage();
  lister.setDefaultTimeout(TIMEOUT);
  try {
    const records = await recordPages(lister, BASE, { chronic: role.chronic });
    if (role.username === 'admin') records.push(await programRecordsPage(lister, BASE));
    return [
      ...[...role.pages, ...records].map((path) => ({ path, status: 200, frame: true, hydrates: true })),
      { path: UNKNOWN_PAGE, status: 404, frame: false, hydrates: true },
      ...role.denied.map((path) => ({ path, status: 403, frame: false, hydrates: false })),
    ];
  } finally {
    await lister.close();
  }
}

async function walk(context, pages, language) {
  const errors = [];
  for (const entry of pages) {
    // A tab of its own for each page: one tab hydrating fifty pages in turn has had its
    // renderer crash on a busy 2-core machine, which says nothing about any page.
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const seen = [];
    watch(page, seen);
    try {
      await check(page, entry, language);
    } finally {
      await page.close();
    }
    const status = `Failed to load resource: the server responded with a status of ${entry.status} (${STATUS_TEXT[entry.status]})`;
    errors.push(...seen.filter((e) => e !== status).map((e) => `${entry.path}: ${e}`));
  }
  assert.deepEqual(errors, [], `browser errors in ${language}`);
}

/**
 * The texts of the page (its body's texts and the labels people read: title, aria-label,
 * placeholder, alt) in the page's language that are English texts of the translations. A text
 * marked as in another language (the language switch's "English") is not the page's.
 */
async function englishLeft(page) {
  return page.evaluate((english) => {
    const texts = new Set(english);
    const found = [];
    const ours = (element) => (element?.closest('[lang]')?.getAttribute('lang') ?? 'zh-Hans') === 'zh-Hans';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      // A command or a code (`elysium user add`) is the same in every language.
      if (parent?.closest('script, style, noscript, code') || !ours(parent)) continue;
      const text = node.data.trim();
      if (texts.has(text)) found.push(text);
    }
    for (const element of document.body.querySelectorAll('[title], [aria-label], [placeholder], [alt]')) {
      if (!ours(element)) continue;
      for (const name of ['title', 'aria-label', 'placeholder', 'alt']) {
        const text = element.getAttribute(name)?.trim();
        if (text && texts.has(text)) found.push(`${name}="${text}"`);
      }
    }
    const title = document.title.replace(/ · Elysium$/, '').trim();
    if (texts.has(title)) found.push(`<title>${title}`);
    return found;
  }, ENGLISH);
}

/**
 * The text of the page's main area in the page's language: without what is marked as in
 * another (the sign-in page's language switch names each language in itself).
 */
async function mainText(page) {
  await page.locator('main').first().waitFor({ state: 'attached' });
  return page.evaluate(() => {
    const main = document.querySelector('main').cloneNode(true);
    const own = document.documentElement.getAttribute('lang');
    for (const other of main.querySelectorAll('[lang]')) if (other.getAttribute('lang') !== own) other.remove();
    return main.textContent ?? '';
  });
}

/** One page in `language`: served, hydrated, `lang` set, its words and navigation in it. */
async function check(page, { path, status, frame, hydrates }, language) {
  const response = await page.goto(`${BASE}${path}`);
  assert.equal(response.status(), status, `${language} ${path}: status`);
  if (JAVASCRIPT && hydrates) await page.waitForSelector('body[data-hydrated]');
  assert.equal(await page.getAttribute('html', 'lang'), language, `${path}: lang`);
  // The page's own words (a study page's heading is its patient's name, so the whole main
  // area is read) and the frame's navigation follow the language.
  const main = await mainText(page);
  const nav = frame ? (await page.locator('nav.mainnav').textContent()) ?? '' : '';
  if (language === 'zh-Hans') {
    assert.match(main, HAN, `${path}: the page is in Chinese`);
    if (frame) assert.match(nav, /工作列表/, `${path}: the navigation is in Chinese (${nav})`);
    assert.deepEqual(await englishLeft(page), [], `${path}: English left on the Chinese page`);
  } else {
    if (frame) assert.match(nav, /Worklist/, `${path}: the navigation is in English (${nav})`);
    assert.doesNotMatch(nav, HAN);
    // A page outside the frame shows no record: none of its words is Chinese.
    if (!frame) assert.doesNotMatch(main, HAN, `${path}: the page is in English`);
  }
  if (status === 200) assert.equal(await page.locator('[data-testid=error]').count(), 0, `${path}: no error`);
}

for (const role of ROLES) {
  test(`${role.username}: every page in English and in Simplified Chinese (${MODE})`, async () => {
    const context = await browser.newContext({ javaScriptEnabled: JAVASCRIPT, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    watch(page, errors);
    try {
      await signInAs(page, BASE, role.username, PASSWORD);
      const pages = await pagesOf(context, role);
      // Every page the role may open, at least one record besides (the demo's worklist has
      // findings at every site).
      assert.ok(pages.filter((p) => p.status === 200).length > role.pages.length, `${role.username}: the demo's records`);
      await walk(context, pages, 'en');

      // The header's switch: back on the same page, still signed in, now in Chinese.
      await page.goto(`${BASE}/worklist`);
      await Promise.all([page.waitForURL(/\/worklist/), page.click('form.language-switch button[value="zh-Hans"]')]);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
      assert.match(await page.textContent('[data-testid=whoami]'), new RegExp(role.name));
      await walk(context, pages, 'zh-Hans');

      // And back.
      await Promise.all([page.waitForURL(/\/worklist/), page.click('form.language-switch button[value="en"]')]);
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.deepEqual(errors, [], 'browser errors on the switch\'s page');
    } finally {
      // The switch saved the choice in the user's profile: whatever happened, English again.
      await restoreEnglish(page, BASE);
      await context.close();
    }
  });
}

test(`the sign-in page, signed out: the browser's language, and the switch on the page (${MODE})`, async () => {
  for (const [locale, language] of [['en-US', 'en'], ['zh-CN', 'zh-Hans']]) {
    const context = await browser.newContext({ javaScriptEnabled: JAVASCRIPT, locale });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors = [];
      watch(page, errors);
      await check(page, { path: '/login', status: 200, frame: false, hydrates: true }, language);
      // The other language with the page's own switch: back on the sign-in page, in it.
      const other = language === 'en' ? 'zh-Hans' : 'en';
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/language' && r.request().method() === 'POST'),
        page.click(`form.language-switch button[value="${other}"]`),
      ]);
      await page.waitForSelector(`html[lang="${other}"]`, { state: 'attached' });
      assert.equal(new URL(page.url()).pathname, '/login', 'back on the sign-in page');
      if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]');
      const main = await mainText(page);
      if (other === 'zh-Hans') {
        assert.match(main, HAN, 'the sign-in page in Chinese');
        assert.deepEqual(await englishLeft(page), [], 'English left on the Chinese sign-in page');
      } else {
        assert.doesNotMatch(main, HAN, 'the sign-in page in English');
      }
      // Still a visitor: the choice is the browser's (a cookie), and the next page keeps it.
      await check(page, { path: '/login', status: 200, frame: false, hydrates: true }, other);
      assert.deepEqual(errors, [], `browser errors (${locale})`);
    } finally {
      await context.close();
    }
  }
});
