// Browser suite: Debian's chromium driven by playwright-core, against a running demo server.
// Run twice by `make test`: E2E_JAVASCRIPT=off (pure server rendering, forms post) and =on
// (hydrated, client-side routing).
//   E2E_BASE_URL=http://127.0.0.1:PORT E2E_PASSWORD=... E2E_JAVASCRIPT=on|off node --test tests/e2e
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from './browser.mjs';


const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const SHOTS = process.env.E2E_SCREENSHOTS;

const ROLES = [
  { username: 'admin', name: 'Ada Admin', card: 'Administration', admin: true },
  { username: 'coordinator', name: 'Cora Coordinator', card: 'Triage and follow-up', admin: false },
  { username: 'surgeon', name: 'Sam Surgeon', card: 'MDT staging', admin: false },
  { username: 'radiologist', name: 'Ravi Radiologist', card: 'Finding review', admin: false },
];

let browser;
const profiles = [];
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const dir of profiles) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh page in its own context (own cookies), with browser errors collected. */
async function freshPage() {
  const context = await browser.newContext({ javaScriptEnabled: JAVASCRIPT });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { context, page, errors };
}

async function signIn(page, username, password) {
  await page.goto(`${BASE}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login') || url.search.includes('notice')), page.click('form[action="/login"] button[type=submit]')]);
}

async function waitForHydration(page) {
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: 30000 });
}

for (const role of ROLES) {
  test(`${role.username} signs in, sees their navigation, and signs out (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
    const { context, page, errors } = await freshPage();
    try {
      await signIn(page, role.username, PASSWORD);
      assert.equal(new URL(page.url()).pathname, '/');
      await waitForHydration(page);
      assert.match(await page.textContent('[data-testid=home-title]'), new RegExp(role.name));
      assert.match(await page.textContent('main'), new RegExp(role.card));
      const nav = await page.locator('nav.mainnav a').allTextContents();
      assert.ok(nav.includes('Home') && nav.includes('Profile'), nav.join(','));
      assert.equal(nav.includes('Users'), role.admin, `admin links for ${role.username}: ${nav}`);
      assert.equal(nav.includes('Audit log'), role.admin);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `home-${role.username}-js-${JAVASCRIPT ? 'on' : 'off'}.png`), fullPage: true });

      // Navigate to the profile. Hydrated, this is client-side routing: the page is not reloaded.
      await page.evaluate(() => { window.__samePage = true; });
      await page.click('nav.mainnav a:text-is("Profile")');
      await page.waitForSelector('[data-testid=profile]');
      assert.equal(new URL(page.url()).pathname, '/profile');
      const samePage = await page.evaluate(() => window.__samePage === true).catch(() => false);
      assert.equal(samePage, JAVASCRIPT, JAVASCRIPT ? 'hydrated navigation must not reload' : 'without JavaScript links load pages');
      assert.match(await page.textContent('[data-testid=profile]'), new RegExp(role.username));

      await Promise.all([page.waitForURL(/\/login\?notice=signed_out/), page.click('.whoami button')]);
      assert.match(await page.textContent('[data-testid=signin-notice]'), /signed out/);
      // Signed out for real: the home page sends us back to sign in.
      await page.goto(`${BASE}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test(`a wrong password shows the generic message (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page } = await freshPage();
  try {
    await signIn(page, 'coordinator', 'not-the-password');
    assert.match(await page.textContent('[data-testid=signin-notice]'), /Invalid username or password/);
    await signIn(page, 'no-such-user', 'not-the-password');
    assert.match(await page.textContent('[data-testid=signin-notice]'), /Invalid username or password/);
  } finally {
    await context.close();
  }
});

test(`non-admins are refused the admin pages (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page } = await freshPage();
  try {
    await signIn(page, 'surgeon', PASSWORD);
    const response = await page.goto(`${BASE}/admin/audit`);
    assert.equal(response.status(), 403);
    assert.match(await page.textContent('h1'), /Not allowed/);
  } finally {
    await context.close();
  }
});

test(`the admin sees the audit log and the user list (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page } = await freshPage();
  try {
    await signIn(page, 'admin', PASSWORD);
    await waitForHydration(page);
    await page.click('nav.mainnav a:text-is("Audit log")');
    await page.waitForSelector('[data-testid=audit]');
    assert.match(await page.textContent('[data-testid=audit]'), /auth\.login/);
    await page.click('nav.mainnav a:text-is("Users")');
    await page.waitForSelector('[data-testid=users]');
    assert.match(await page.textContent('[data-testid=users]'), /Cora Coordinator/);
  } finally {
    await context.close();
  }
});

test(`a coordinator finds a demo study and opens it (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'coordinator', PASSWORD);
    await waitForHydration(page);
    await page.click('nav.mainnav a:text-is("Studies")');
    await page.waitForSelector('[data-testid=studies]');
    const rows = await page.locator('[data-testid=studies] tbody tr').count();
    assert.ok(rows >= 1, 'the demo seeds studies at the coordinator\'s site');
    await page.click('[data-testid=studies] tbody tr >> nth=0 >> a');
    await page.waitForSelector('[data-testid=series]');
    assert.match(await page.textContent('[data-testid=series]'), /CT/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`the slice viewer steps through a series (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'radiologist', PASSWORD);
    await waitForHydration(page);
    // A demo phantom with its images (the programme history's newer studies store none).
    await page.goto(`${BASE}/studies?patient_id=PH-2601-0001`);
    await waitForHydration(page);
    await page.click('[data-testid=studies] tbody tr >> nth=0 >> a');
    await page.waitForSelector('[data-testid=series] a');
    await page.click('[data-testid=series] a');
    await page.waitForSelector('[data-testid=slice]');
    await waitForHydration(page);
    const before = await page.textContent('[data-testid=slice-position]');
    const image = await page.getAttribute('[data-testid=slice]', 'src');
    const png = await page.request.get(new URL(image, BASE).toString());
    assert.equal(png.headers()['content-type'], 'image/png');
    if (JAVASCRIPT) {
      await page.focus('.viewer-stage');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
    } else {
      await page.click('text=Next ▶');
      await page.click('text=Next ▶');
    }
    const after = await page.textContent('[data-testid=slice-position]');
    const number = (text) => Number(/Slice (\d+)/.exec(text)[1]);
    assert.equal(number(after), number(before) + 2, `${before} -> ${after}`);
    if (JAVASCRIPT) {
      // The other keys and the mouse wheel, each slice with its own image ("Slice N of count").
      const count = Number(/of (\d+)/.exec(before)[1]);
      assert.ok(count >= 24, `a series long enough to page through: ${before}`);
      const images = new Map();
      const shows = async (slice, what) => {
        await page.waitForFunction((text) => document.querySelector('[data-testid=slice-position]')?.textContent.trim() === text,
          `Slice ${slice} of ${count}`, { timeout: 10000 }).catch(async () => {
          assert.fail(`${what}: slice ${slice} expected, ${await page.textContent('[data-testid=slice-position]')} shown`);
        });
        const src = await page.getAttribute('[data-testid=slice]', 'src');
        for (const [other, seen] of images) {
          assert.equal(src === seen, other === slice, `${what}: slice ${slice}'s image against slice ${other}'s`);
        }
        images.set(slice, src);
      };
      let slice = number(after);
      await shows(slice, 'two ↓');
      await page.keyboard.press('ArrowUp');
      await shows(--slice, '↑');
      await page.keyboard.press('PageDown');
      await shows(slice += 10, 'Page Down');
      await page.keyboard.press('PageUp');
      await shows(slice -= 10, 'Page Up');
      await page.keyboard.press('End');
      await shows(count, 'End');
      await page.keyboard.press('ArrowDown');
      await shows(count, '↓ on the last slice');
      await page.keyboard.press('Home');
      await shows(1, 'Home');
      // The wheel over the image: down is the next slice, up the one before.
      const box = await page.locator('[data-testid=slice]').boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, 120);
      await shows(2, 'the wheel down');
      await page.mouse.wheel(0, 120);
      await shows(3, 'the wheel down again');
      await page.mouse.wheel(0, -120);
      await shows(2, 'the wheel up');
    }
    await page.click('[data-preset=lung]');
    assert.match(await page.getAttribute('[data-testid=slice]', 'src'), /window=-600,1500/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`a radiologist uploads a public CT sample (JavaScript ${JAVASCRIPT ? 'on' : 'off'})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'radiologist', PASSWORD);
    await waitForHydration(page);
    await page.click('nav.mainnav a:text-is("Upload")');
    await page.waitForSelector('[data-testid=upload-form]');
    await waitForHydration(page);
    const sample = new URL('../fixtures/dicom/pydicom/CT_small.dcm', import.meta.url).pathname;
    await page.setInputFiles('input[name=files][multiple]:not([webkitdirectory])', sample);
    // The radiologist works at both demo sites, so the page asks which one sent the images.
    await page.selectOption('[data-testid=upload-site] select', 'DEMO-RC');
    await page.click('[data-testid=upload-form] button[type=submit]');
    await page.waitForSelector('[data-testid=upload-summary]');
    // Each run has its own database: the file is stored, not found as a duplicate.
    assert.equal((await page.textContent('[data-testid=upload-summary]')).trim(), '1 stored, 0 duplicates, 0 refused');
    assert.match(await page.textContent('[data-testid=upload-results]'), /CT_small\.dcm/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
