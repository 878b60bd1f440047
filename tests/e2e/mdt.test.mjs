// Browser suite for the tumour board: a surgeon opens a case from the upcoming meeting,
// overrides N with a reason, sees the stage group change (hydrated: as the choice changes; with
// JavaScript off: in the saved decision), signs; a second surgeon's signature locks it; the case
// shows as decided, and the agreement statistics count it with the discordant N.
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
