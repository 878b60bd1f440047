// Browser suite for the OHIF viewer served by Elysium under /ohif/ (server/src/ohif.rs): the
// coordinator sees the study list in OHIF, opens the demo's lesion-tracking patient's study
// (PL-0005) and follows "Open in OHIF", and the viewer, reading Elysium's DICOMweb with the
// session cookie, draws a CT frame (the
// viewport's pixels are not uniform); the administrator then finds the viewer's reads of that
// study in the audit log. With JavaScript off only the HTTP side is checked (the viewer is a
// JavaScript application): the page, its Content-Security-Policy and its configuration. It only
// reads, so it runs any number of times.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, signedInPage } from './browser.mjs';

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
// OHIF loads and decodes a series in a debug build on a small machine: generous.
const TIMEOUT = 120000;

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

function signedIn(username) {
  return signedInPage(browser, { base: BASE, username, password: PASSWORD, javascript: JAVASCRIPT, timeout: TIMEOUT, viewport: { width: 1280, height: 900 } });
}

/** The study page of PL-0005's first study; returns its "Open in OHIF" address. */
async function ohifLink(page) {
  await page.goto(`${BASE}/studies?patient_id=PL-0005`);
  const study = page.locator('[data-testid=studies] a').first();
  await study.waitFor();
  await Promise.all([page.waitForURL(/\/studies\/[0-9.]+$/), study.click()]);
  const link = page.locator('[data-testid=open-ohif]');
  await link.waitFor();
  return link.getAttribute('href');
}

test(`the OHIF viewer is served same-origin with its policy and Elysium's configuration (${MODE})`, async () => {
  const { context, page } = await signedIn('coordinator');
  try {
    const href = await ohifLink(page);
    assert.match(href, /^\/ohif\/viewer\?StudyInstanceUIDs=[0-9.]+$/);
    const response = await page.request.get(`${BASE}${href}`);
    assert.equal(response.status(), 200);
    const policy = response.headers()['content-security-policy'];
    assert.ok(policy, 'the viewer has a Content-Security-Policy');
    for (const directive of ["default-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'self'"]) {
      assert.ok(policy.includes(directive), `${directive} in ${policy}`);
    }
    assert.ok(!/'unsafe-eval'|\*|https?:/.test(policy), `nothing from elsewhere: ${policy}`);
    assert.match(await response.text(), /window\.PUBLIC_URL="\/ohif\/"/);
    const config = await (await page.request.get(`${BASE}/ohif/app-config.js`)).text();
    assert.match(config, /qidoRoot: window\.location\.origin \+ '\/dicomweb'/);
    assert.match(config, /routerBasename: '\/ohif'/);

    // Signed out, the viewer is the sign-in page like every other.
    const anonymous = await browser.newContext();
    try {
      const refused = await anonymous.request.get(`${BASE}${href}`, { maxRedirects: 0 });
      assert.equal(refused.status(), 303);
      assert.match(refused.headers().location, /^\/login/);
    } finally {
      await anonymous.close();
    }
  } finally {
    await context.close();
  }
});

test(`OHIF opens a demo study and draws a CT frame, audited (${MODE})`, { skip: !JAVASCRIPT && 'the viewer needs JavaScript' }, async () => {
  const { context, page } = await signedIn('coordinator');
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  try {
    // Its study list is Elysium's QIDO-RS.
    await page.goto(`${BASE}/ohif/`);
    await page.getByText('Study List').first().waitFor();
    await page.locator('tbody tr').first().waitFor();

    const href = await ohifLink(page);
    const studyUid = new URL(href, BASE).searchParams.get('StudyInstanceUIDs');
    const since = new Date(Date.now() - 1000).toISOString();
    await page.goto(`${BASE}${href}`);
    const canvas = page.locator('canvas').first();
    await canvas.waitFor({ state: 'visible' });
    // Drawn: the viewport's screenshot has many grey levels (an empty or loading viewport has
    // one or two). Polled, since frames arrive after the canvas exists.
    const deadline = Date.now() + TIMEOUT;
    let levels = 0;
    while (Date.now() < deadline) {
      const png = await canvas.screenshot();
      levels = await page.evaluate(async (base64) => {
        const image = new Image();
        image.src = `data:image/png;base64,${base64}`;
        await image.decode();
        const scratch = document.createElement('canvas');
        scratch.width = image.width;
        scratch.height = image.height;
        const context2d = scratch.getContext('2d');
        context2d.drawImage(image, 0, 0);
        const { data } = context2d.getImageData(0, 0, image.width, image.height);
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4) seen.add(data[i]);
        return seen.size;
      }, png.toString('base64'));
      if (levels >= 32) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(levels >= 32, `the viewport shows ${levels} grey levels: no CT frame drawn`);
    assert.deepEqual(violations, [], 'the viewer runs within its Content-Security-Policy');

    // The administrator sees the viewer's reads of this study in the audit log.
    const admin = await signedIn('admin');
    try {
      const response = await admin.page.request.get(`${BASE}/api/v1/audit?action=dicomweb.metadata&target_id=${studyUid}&from=${since}`);
      assert.equal(response.status(), 200);
      const audit = await response.json();
      assert.ok(audit.items.some((e) => e.actor === 'coordinator'), `the viewer's reads are audited: ${JSON.stringify(audit.items.slice(0, 3))}`);
    } finally {
      await admin.context.close();
    }
  } finally {
    await context.close();
  }
});
