// Browser suite for the tumour board: a surgeon opens a case from the upcoming meeting,
// overrides N with a reason, sees the stage group change (hydrated: as the choice changes; with
// JavaScript off: in the saved decision), signs; a second surgeon's signature locks it; the case
// shows as decided, and the agreement statistics count it with the discordant N. The upcoming
// meeting's presentation walks through its cases (hydrated: with the arrow and Page keys; with
// JavaScript off: with its links), each with its key image; a radiologist records and corrects a
// measurement through the case page's form, and (hydrated) measures a node in the slice viewer
// with two clicks and records it through the form the viewer fills in; a surgeon and a
// coordinator open a larynx case directly from the patient's CT study through the new-case form.
// Runs twice, E2E_JAVASCRIPT=off and =on, each against its own freshly seeded database (the
// demo board puts a liver case awaiting review on the upcoming meeting: proposed T1b N0 M0, IB).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, signInAs, newPage } from './browser.mjs';

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

async function freshPage() {
  const { context, page, errors } = await newPage(browser, { javascript: JAVASCRIPT, timeout: TIMEOUT });
  return { context, page, errors };
}

/** The figure of one agreement card (`n`, `percent`...) for one category, as a number. */
async function agreementFigure(page, figure, category) {
  await page.goto(`${BASE}/mdt/agreement`);
  const text = (await page.getByTestId(`agreement-${figure}-${category}`).textContent()).trim();
  return Number.parseFloat(text);
}

/** Submits the form holding `button` and waits for the redirect back with `?done=`. */
async function submit(page, button) {
  await Promise.all([page.waitForURL((url) => url.search.includes('done=') || url.search.includes('error=')), page.getByTestId(button).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('error'), null, `refused: ${url.searchParams.get('error')}`);
  return url.searchParams.get('done');
}

test(`a surgeon decides a case from the meeting and the agreement counts it (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'surgeon', PASSWORD);
    const comparedBefore = await agreementFigure(page, 'n', 'stage_group');

    // The upcoming meeting, then the liver case on its agenda.
    await page.goto(`${BASE}/mdt/meetings`);
    await Promise.all([page.waitForURL(/\/mdt\/meetings\/\d+$/), page.getByTestId('upcoming-meetings').getByRole('link').first().click()]);
    // With JavaScript on the router navigates in the page: the URL changes before the agenda
    // is drawn, so wait for the agenda itself before counting its rows.
    await page.getByTestId('agenda-case').first().waitFor();
    const row = page.getByTestId('agenda-case').filter({ hasText: 'Liver cancer' });
    assert.equal(await row.count(), 1, 'one liver case on the agenda');
    await Promise.all([page.waitForURL(/\/mdt\/cases\/\d+$/), row.getByRole('link').first().click()]);
    const caseUrl = page.url();
    const caseId = caseUrl.split('/').pop();
    // Choices made before hydration would be reset by it.
    if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });

    // The AI's proposal, from the image measurement: T1b N0 M0, stage IB.
    assert.equal((await page.getByTestId('stage-group').textContent()).trim(), 'IB');
    await page.selectOption('#review-n', 'N1');
    await page.fill('[name=n_reason]', 'PET-CT: avid hepatoduodenal ligament node');
    if (JAVASCRIPT) {
      // Recomputed in the browser by the same staging rules: any T N1 M0 is IVA (AJCC 8th, liver).
      await page.waitForFunction(() => document.querySelector('[data-testid=stage-group]')?.textContent.trim() === 'IVA');
    }
    await page.selectOption('[name=recommendation]', 'systemic_therapy');
    assert.equal(await submit(page, 'review-submit'), 'review');
    const decision = page.getByTestId('decision').first();
    assert.match(await decision.getByTestId('decision-tnm').textContent(), /T1b\s+N1\s+M0.*IVA/s);
    assert.match(await decision.getByTestId('reason-n').textContent(), /hepatoduodenal/);

    // Two signatures lock it: the first leaves it awaiting the second.
    assert.equal(await submit(page, 'sign-submit'), 'sign');
    const second = await freshPage();
    try {
      await signInAs(second.page, BASE, 'surgeon2', PASSWORD);
      await second.page.goto(caseUrl);
      assert.equal(await submit(second.page, 'sign-submit'), 'locked');
      assert.match(await second.page.getByTestId('case-status').first().textContent(), /Decided/);
      assert.equal(await second.page.getByTestId('locked').count() > 0, true, 'the decision shows as locked');
      assert.deepEqual(second.errors, []);
    } finally {
      await second.context.close();
    }

    // The agreement statistics count the case, with its N among the discordant ones.
    assert.equal(await agreementFigure(page, 'n', 'stage_group'), comparedBefore + 1);
    const discordant = page.locator(`[data-testid=discordant-row][data-case="${caseId}"][data-category=n]`);
    assert.equal(await discordant.count(), 1);
    assert.match(await discordant.textContent(), /N0.*N1/s);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Waits for the hydrated page after a full page load (JavaScript on). */
async function hydrated(page) {
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

test(`the upcoming meeting is presented case by case, each with its key image (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'coordinator', PASSWORD);
    await page.goto(`${BASE}/mdt/meetings`);
    await Promise.all([page.waitForURL(/\/mdt\/meetings\/\d+$/), page.getByTestId('upcoming-meetings').getByRole('link').first().click()]);
    await page.getByTestId('agenda-case').first().waitFor();
    // The agenda's cases in order: the presentation walks through them in the same order.
    const agenda = await page.getByTestId('agenda-case').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-case')));
    assert.ok(agenda.length >= 3, `the demo's upcoming meeting has three cases or more: ${agenda}`);
    await Promise.all([page.waitForURL(/\/mdt\/meetings\/\d+\/present$/), page.getByTestId('present-link').click()]);
    await hydrated(page);

    const images = new Map();
    /** The screen shows case `i` of the agenda, in large type, with its key image loaded. */
    const shows = async (i, how) => {
      const position = `Case ${i + 1} of ${agenda.length}`;
      const screen = `[data-testid=present-case][data-case="${agenda[i]}"]`;
      await page.waitForFunction(([position, screen]) =>
        document.querySelector('[data-testid=present-position]')?.textContent.trim() === position && document.querySelector(screen) !== null,
      [position, screen], { timeout: TIMEOUT }).catch(async () => {
        assert.fail(`${how}: ${position} (case ${agenda[i]}) expected, ${await page.getByTestId('present-position').textContent()} shown`);
      });
      assert.equal(await page.getByTestId('present-case').count(), 1, 'one case at a time');
      assert.equal(await page.locator(`${screen} [data-testid=present-proposal]`).count(), 1, `case ${agenda[i]} shows its proposal`);
      const image = `${screen} [data-testid=present-image] img`;
      await page.waitForFunction((image) => document.querySelector(image)?.complete === true, image, { timeout: TIMEOUT });
      const { src, width } = await page.locator(image).evaluate((img) => ({ src: img.getAttribute('src'), width: img.naturalWidth }));
      assert.ok(width > 0, `case ${agenda[i]}'s key image loads: ${src}`);
      assert.match(src, /^\/dicomweb\/studies\/.+\/rendered\?window=/);
      for (const [other, seen] of images) {
        if (other !== i) assert.notEqual(src, seen, `case ${agenda[i]} has its own key image`);
      }
      images.set(i, src);
    };

    await shows(0, 'the presentation opens');
    const last = agenda.length - 1;
    if (JAVASCRIPT) {
      // What a presentation clicker sends: → or Page Down forward, ← or Page Up back.
      for (let i = 1; i <= last; i++) {
        const key = i % 2 === 1 ? 'ArrowRight' : 'PageDown';
        await page.keyboard.press(key);
        await shows(i, key);
      }
      for (let i = last - 1; i >= 0; i--) {
        const key = (last - i) % 2 === 1 ? 'ArrowLeft' : 'PageUp';
        await page.keyboard.press(key);
        await shows(i, key);
      }
    } else {
      for (let i = 1; i <= last; i++) {
        await page.getByTestId('present-next').click();
        await shows(i, 'Next');
      }
      assert.equal(await page.getByTestId('present-next').count(), 0, 'no next case after the last');
      for (let i = last - 1; i >= 0; i--) {
        await page.getByTestId('present-prev').click();
        await shows(i, 'Previous');
      }
    }
    assert.equal(await page.getByTestId('present-prev').count(), 0, 'no previous case before the first');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`a radiologist records a measurement on the case page and corrects it (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'radiologist', PASSWORD);
    // The demo's kidney case (awaiting its second signature); a node below 10 mm short axis
    // leaves its N as it was, so the other tests' cases and figures are not moved.
    await page.goto(`${BASE}/mdt?cancer=kidney`);
    const link = page.getByTestId('case-link').first();
    await link.waitFor();
    await Promise.all([page.waitForURL(/\/mdt\/cases\/\d+$/), link.click()]);
    await page.getByTestId('measure-form').waitFor();
    await hydrated(page);
    const proposalVersion = async () => Number((await page.getByTestId('proposal-version').textContent()).trim());
    const rows = page.getByTestId('measurement-row');
    const versionBefore = await proposalVersion();
    const rowsBefore = await rows.count();
    const slice = await page.inputValue('#measure-slice');
    assert.match(slice, /^\d+$/, 'the form starts on the case\'s key slice');

    const note = `Re-read of the hilum, ${MODE}, ${Date.now()}`;
    await page.selectOption('#measure-kind', 'node');
    await page.fill('#measure-size', '8.5');
    await page.fill('#measure-location', 'renal hilum');
    await page.selectOption('#measure-side', 'ipsilateral');
    await page.fill('#measure-note', note);
    assert.equal(await submit(page, 'measure-submit'), 'measure');
    await page.getByTestId('measurements').waitFor();
    await hydrated(page);
    assert.equal((await page.getByTestId('notice').textContent()).trim(), 'Measurement recorded; the AI proposal was recomputed.');
    assert.equal(await rows.count(), rowsBefore + 1);
    const row = rows.filter({ hasText: note });
    assert.equal(await row.count(), 1, 'the new measurement is listed with its note');
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(1, 7).map((c) => c.trim()), ['Lymph node', '8.5 mm', 'renal hilum', 'Ipsilateral', slice, 'Radiologist']);
    assert.match(cells[7], /Ravi Radiologist/);
    assert.equal(await row.getAttribute('data-superseded'), 'false');
    assert.equal(await proposalVersion(), versionBefore + 1, 'the measurement recomputed the proposal as a new version');
    const first = await row.getAttribute('data-measurement');

    // A correction names what it replaces, which stays, marked as superseded.
    const correction = `Corrected on the thinner slices, ${MODE}, ${Date.now()}`;
    await page.selectOption('#measure-kind', 'node');
    await page.fill('#measure-size', '9.5');
    await page.fill('#measure-location', 'renal hilum');
    await page.selectOption('#measure-corrects', first);
    await page.fill('#measure-note', correction);
    assert.equal(await submit(page, 'measure-submit'), 'measure');
    await page.getByTestId('measurements').waitFor();
    assert.equal(await rows.count(), rowsBefore + 2, 'the corrected measurement stays');
    const corrected = rows.filter({ hasText: correction });
    assert.equal(await corrected.count(), 1);
    const second = await corrected.getAttribute('data-measurement');
    assert.match(await corrected.textContent(), new RegExp(`9\\.5 mm.*Corrects #${first}`, 's'));
    const old = page.locator(`[data-testid=measurement-row][data-measurement="${first}"]`);
    assert.equal(await old.getAttribute('data-superseded'), 'true');
    assert.match(await old.textContent(), new RegExp(`8\\.5 mm.*Superseded by #${second}`, 's'));
    assert.equal(await proposalVersion(), versionBefore + 2);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** A DICOM JSON attribute's values as numbers (DS values may be sent as strings). */
function numbers(instance, tag) {
  return (instance[tag]?.Value ?? []).map(Number);
}

test(`a radiologist measures a node in the slice viewer and records it on the case (${MODE})`, { skip: !JAVASCRIPT && 'measuring needs JavaScript' }, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signInAs(page, BASE, 'radiologist', PASSWORD);
    // The demo's kidney case, as in the test above: a node below 10 mm short axis moves no
    // category, so the other tests' figures stay as they are.
    await page.goto(`${BASE}/mdt?cancer=kidney`);
    const link = page.getByTestId('case-link').first();
    await link.waitFor();
    await Promise.all([page.waitForURL(/\/mdt\/cases\/\d+$/), link.click()]);
    const caseId = new URL(page.url()).pathname.split('/').pop();
    await page.getByTestId('measure-form').waitFor();
    await hydrated(page);
    const rows = page.getByTestId('measurement-row');
    const rowsBefore = await rows.count();

    // The case's viewer link says which case it came from.
    const viewerLink = page.getByTestId('viewer-link');
    const viewerHref = await viewerLink.getAttribute('href');
    assert.match(viewerHref, new RegExp(`^/studies/[0-9.]+/series/[0-9.]+\\?slice=\\d+&case=${caseId}$`));
    await Promise.all([page.waitForURL(/\/studies\/[0-9.]+\/series\/[0-9.]+\?/), viewerLink.click()]);
    const viewerUrl = new URL(page.url());
    const [, study, series] = /^\/studies\/([0-9.]+)\/series\/([0-9.]+)$/.exec(viewerUrl.pathname);
    const slice = viewerUrl.searchParams.get('slice');
    const image = page.getByTestId('slice');
    await image.waitFor();
    // The image loaded, so its natural size is known.
    await page.waitForFunction(() => document.querySelector('[data-testid=slice]')?.naturalWidth > 0);

    // The series' geometry, read independently of the page: its DICOMweb metadata. Pixel
    // Spacing (0028,0030) is [row spacing (vertical), column spacing (horizontal)].
    const metadata = await (await page.request.get(`${BASE}/dicomweb/studies/${study}/series/${series}/metadata`, { headers: { accept: 'application/dicom+json' } })).json();
    const instanceUid = /\/instances\/([0-9.]+)\/rendered/.exec(await image.getAttribute('src'))[1];
    const instance = metadata.find((i) => i['00080018']?.Value?.[0] === instanceUid);
    assert.ok(instance, `the shown slice's instance ${instanceUid} is in the series' metadata`);
    const [rowSpacing, columnSpacing] = numbers(instance, '00280030');
    const position = numbers(instance, '00200032');
    const orientation = numbers(instance, '00200037');
    assert.ok(rowSpacing > 0 && columnSpacing > 0, `pixel spacing ${rowSpacing}, ${columnSpacing}`);
    // Two points a few pixels apart across and down, short of 10 mm.
    const across = Math.max(1, Math.floor(6 / columnSpacing));
    const down = Math.max(1, Math.floor(6 / rowSpacing));
    const expected = Math.hypot(across * columnSpacing, down * rowSpacing);
    assert.ok(expected < 10, `a node below 10 mm: ${expected}`);

    // Measure: a pointer tool, which says so.
    const toggle = page.getByTestId('measure-toggle');
    await toggle.waitFor();
    assert.match(await toggle.getAttribute('title'), /pointer tool/);
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal((await page.getByTestId('measured-length').textContent()).trim(), 'Measuring: click one end.');

    // Click the centres of two pixels near the image's middle, scrolled into view; the image is
    // drawn scaled to fit its box (`object-fit: contain`), centred.
    await image.evaluate((img) => img.scrollIntoView({ block: 'center' }));
    const box = await image.boundingBox();
    const natural = await image.evaluate((img) => ({ width: img.naturalWidth, height: img.naturalHeight }));
    const scale = Math.min(box.width / natural.width, box.height / natural.height);
    const left = box.x + (box.width - natural.width * scale) / 2;
    const top = box.y + (box.height - natural.height * scale) / 2;
    const first = { column: Math.floor(natural.width / 2), row: Math.floor(natural.height / 2) };
    const second = { column: first.column + across, row: first.row + down };
    const click = (p) => page.mouse.click(left + (p.column + 0.5) * scale, top + (p.row + 0.5) * scale);
    await click(first);
    await page.waitForFunction(() => document.querySelector('[data-testid=measured-length]')?.textContent.trim() === 'Click the other end.');
    await click(second);
    const lengthText = page.getByTestId('measured-length');
    await page.waitForFunction(() => /mm/.test(document.querySelector('[data-testid=measured-length]')?.textContent ?? ''));
    const shown = /^Length (\d+\.\d) mm$/.exec((await lengthText.textContent()).trim());
    assert.ok(shown, `the length in mm, one decimal: ${await lengthText.textContent()}`);
    assert.ok(Math.abs(Number(shown[1]) - expected) <= 0.05 + 1e-9, `${shown[1]} mm shown, ${expected} mm from the spacing`);
    assert.equal(await page.locator('[data-testid=measure-overlay] line').count(), 1, 'the line is drawn over the image');

    // "Record on case" fills in the case's form; the midpoint in patient coordinates is
    // IPP + column·Δcolumn·(row direction) + row·Δrow·(column direction).
    const record = page.getByTestId('record-measurement');
    assert.equal((await record.textContent()).trim(), `Record on case #${caseId}`);
    const middle = { column: (first.column + second.column) / 2, row: (first.row + second.row) / 2 };
    const midpoint = [0, 1, 2].map((k) => position[k] + middle.column * columnSpacing * orientation[k] + middle.row * rowSpacing * orientation[3 + k]);
    const recordUrl = new URL(await record.getAttribute('href'), BASE);
    assert.equal(recordUrl.pathname, `/mdt/cases/${caseId}`);
    assert.equal(recordUrl.hash, '#measure');
    assert.equal(recordUrl.searchParams.get('size_mm'), shown[1]);
    assert.equal(recordUrl.searchParams.get('slice_index'), slice);
    await Promise.all([page.waitForURL((url) => url.pathname === `/mdt/cases/${caseId}`), record.click()]);
    await page.getByTestId('measure-form').waitFor();
    await hydrated(page);
    await page.getByTestId('measure-prefilled').waitFor();
    assert.equal(await page.inputValue('#measure-size'), shown[1]);
    assert.equal(await page.inputValue('#measure-slice'), slice);
    const filled = (await page.inputValue('#measure-position')).split(',').map(Number);
    assert.equal(filled.length, 3);
    filled.forEach((v, k) => assert.ok(Math.abs(v - midpoint[k]) <= 0.05 + 1e-9, `position ${filled} against ${midpoint}`));

    // The radiologist chooses the kind and location, and records it.
    const note = `Measured in the viewer, ${Date.now()}`;
    await page.selectOption('#measure-kind', 'node');
    await page.fill('#measure-location', 'renal hilum');
    await page.fill('#measure-note', note);
    assert.equal(await submit(page, 'measure-submit'), 'measure');
    await page.getByTestId('measurements').waitFor();
    await hydrated(page);
    assert.equal(await rows.count(), rowsBefore + 1);
    const row = rows.filter({ hasText: note });
    assert.equal(await row.count(), 1, 'the new measurement is listed with its note');
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(1, 7).map((c) => c.trim()), ['Lymph node', `${shown[1]} mm`, 'renal hilum', '—', slice, 'Radiologist']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

for (const username of ['surgeon', 'coordinator']) {
  test(`a ${username} opens a larynx case directly from the patient's CT study (${MODE})`, async () => {
    const { context, page, errors } = await freshPage();
    try {
      await signInAs(page, BASE, username, PASSWORD);
      // From the board's case list: the new-case page sends to the studies first.
      await page.goto(`${BASE}/mdt`);
      await hydrated(page);
      await page.getByTestId('open-case-link').click();
      await page.getByTestId('new-case-explainer').waitFor();
      await page.getByTestId('studies-link').click();
      await page.waitForSelector('[data-testid=studies]');
      // The demo's ENT patient, whose staging CT has no screening finding to refer.
      await page.goto(`${BASE}/studies?patient_id=PH-2660-0001`);
      const study = page.locator('[data-testid=studies] tbody a').first();
      await study.waitFor();
      await Promise.all([page.waitForURL(/\/studies\/[0-9.]+$/), study.click()]);
      const open = page.getByTestId('open-mdt-case');
      await open.waitFor();
      await Promise.all([page.waitForURL(/\/mdt\/cases\/new\?study=/), open.click()]);
      await page.getByTestId('new-case-form').waitFor();
      // Choices made before hydration would be reset by it.
      await hydrated(page);
      assert.equal((await page.getByTestId('patient-id').textContent()).trim(), 'PH-2660-0001');
      assert.notEqual(await page.inputValue('#new-series'), '', 'the study\'s CT series is chosen to measure on');

      const diagnosis = `Squamous cell carcinoma of the right vocal cord (${username}, ${MODE}, ${Date.now()})`;
      const referral = 'ENT clinic: biopsy-proven glottic carcinoma; normal cord mobility';
      await page.selectOption('#new-cancer', 'larynx');
      await page.selectOption('#new-subsite', 'glottic');
      await page.fill('#new-diagnosis', diagnosis);
      await page.fill('#new-referral', referral);
      assert.equal(await submit(page, 'open-case-submit'), 'open');
      const id = /\/mdt\/cases\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1];
      assert.ok(id, `the new case's page: ${page.url()}`);
      await page.getByTestId('case-heading').waitFor();
      assert.equal((await page.getByTestId('notice').textContent()).trim(), 'Case opened.');
      assert.equal((await page.getByTestId('patient-id').textContent()).trim(), 'PH-2660-0001');
      assert.equal((await page.getByTestId('case-cancer').textContent()).trim(), 'Laryngeal cancer');
      assert.equal((await page.getByTestId('case-subsite').textContent()).trim(), 'Glottis');
      assert.match(await page.getByTestId('case-status').first().textContent(), /Awaiting review/);
      assert.equal((await page.getByTestId('diagnosis').textContent()).trim(), diagnosis);
      assert.equal((await page.getByTestId('referral-note').textContent()).trim(), referral);
      assert.equal(await page.getByTestId('no-finding').count(), 1, 'opened directly, without a screening finding');
      assert.equal(await page.getByTestId('proposal').count(), 1, 'the case gets its proposal');

      // The board's case list shows it, awaiting review.
      await page.goto(`${BASE}/mdt?cancer=larynx&status=awaiting_review`);
      const listed = page.locator(`[data-testid=case-row][data-case="${id}"]`);
      await listed.waitFor();
      assert.equal(await listed.getAttribute('data-status'), 'awaiting_review');
      assert.match(await listed.getByTestId('case-patient').textContent(), /PH-2660-0001/);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
