// Browser suite for the follow-up workflow: the worklist, a finding's page and its action forms,
// against a running demo server. Like signin.test.mjs it runs twice, E2E_JAVASCRIPT=off (pure
// server rendering, forms post) and then =on (hydrated), against the same database:
//   E2E_BASE_URL=http://127.0.0.1:PORT E2E_PASSWORD=... E2E_JAVASCRIPT=on|off node --test tests/e2e
// The demo seeds two colorectal findings in status `new` at the coordinator's site (DEMO-GH);
// each run takes the first one still new to the MDT, so a third run needs a fresh database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './browser.mjs';


const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';
const MODE = `JavaScript ${JAVASCRIPT ? 'on' : 'off'}`;
// Generous: the CI machine is small and a debug build renders slowly.
const TIMEOUT = 60000;

/** The forms a coordinator is offered in each state (the transition table and the roles). */
const OPEN_TO_ALL = ['record_contact_attempt', 'mark_declined', 'mark_lost', 'assign', 'add_note'];
const COORDINATOR_ACTIONS = {
  'New': ['start_review', ...OPEN_TO_ALL],
  'In review': ['dismiss', 'order_workup', ...OPEN_TO_ALL],
  'Work-up ordered': ['schedule_workup', ...OPEN_TO_ALL],
  'Work-up scheduled': ['schedule_workup', 'complete_workup', ...OPEN_TO_ALL],
  'Work-up done': ['record_outcome', ...OPEN_TO_ALL],
  'Confirmed malignant': ['refer_to_mdt', 'reopen', 'add_note'],
  'Referred to MDT': ['reopen', 'add_note'],
};

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Collects a page's browser errors into `errors`. */
function watch(page, errors) {
  page.setDefaultTimeout(TIMEOUT);
  page.setDefaultNavigationTimeout(TIMEOUT);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return page;
}

/** A fresh page in its own context (own cookies), with browser errors collected. */
async function freshPage() {
  const context = await browser.newContext({ javaScriptEnabled: JAVASCRIPT });
  const errors = [];
  const page = watch(await context.newPage(), errors);
  return { context, page, errors };
}

async function signIn(page, username, password) {
  await page.goto(`${BASE}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login') || url.search.includes('notice')), page.click('form[action="/login"] button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, '/', `${username} signed in`);
}

async function waitForHydration(page) {
  if (JAVASCRIPT) await page.waitForSelector('body[data-hydrated]', { timeout: TIMEOUT });
}

/** Polls `check` until it holds (for hydrated pages that swap their content in place). */
async function waitUntil(check, what, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `YYYY-MM-DD`, `days` from today (UTC, the program's calendar). */
function isoDay(days) {
  return new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
}

/** The worklist with `query`, once its rows (or its empty message) are rendered. */
async function openWorklist(page, query = '') {
  await page.goto(`${BASE}/worklist${query}`);
  await page.waitForSelector('table[data-testid=worklist], [data-testid=no-findings]');
  await waitForHydration(page);
}

/** The id of the worklist's first finding, from its row link. */
async function firstFindingId(page) {
  const href = await page.locator('table[data-testid=worklist] a.open-finding').first().getAttribute('href');
  const match = /^\/findings\/(\d+)$/.exec(href ?? '');
  assert.ok(match, `a finding link: ${href}`);
  return match[1];
}

async function openFinding(page, id) {
  await page.goto(`${BASE}/findings/${id}`);
  await page.waitForSelector('[data-testid=status]');
  await waitForHydration(page);
}

const statusLabel = async (page) => (await page.textContent('[data-testid=status]')).trim();
const historyEvents = (page) => page.locator('table[data-testid=history] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')));
const countEvents = (page, event) => page.locator(`table[data-testid=history] tbody tr[data-event=${event}]`).count();
const actionsShown = async (page) =>
  (await page.locator('[data-testid=actions] form[data-testid^="action-"]').evaluateAll((forms) => forms.map((f) => f.getAttribute('data-testid'))))
    .map((testid) => testid.replace(/^action-/, ''));

/**
 * Fills (with `fill`) and submits the finding page's form for `event`, then waits for the page
 * the server sends back: `?done=EVENT` when it was recorded, `?error=...` when it was refused.
 */
async function act(page, event, fill) {
  const form = page.locator(`form[data-testid=action-${event}]`);
  await form.waitFor();
  if (fill) await fill(form);
  const findingPath = new URL(page.url()).pathname;
  await Promise.all([
    page.waitForURL((url) => url.pathname === findingPath && (url.searchParams.get('done') === event || url.searchParams.has('error'))),
    form.locator('button[type=submit]').click(),
  ]);
  await page.waitForSelector('[data-testid=status]');
  await waitForHydration(page);
}

test(`a coordinator takes a new colorectal finding through colonoscopy to the MDT (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'coordinator', PASSWORD);
    await waitForHydration(page);

    // The worklist's filter form is a GET form: its URL is the filter.
    await openWorklist(page, '?organ=colorectal&status=new');
    const rows = page.locator('table[data-testid=worklist] tbody tr');
    assert.ok(await rows.count() >= 1, 'a colorectal finding is still new (the demo seeds one per run)');
    const statuses = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
    assert.deepEqual([...new Set(statuses)], ['new'], `the filter lists only new findings: ${statuses}`);
    const id = await firstFindingId(page);
    assert.equal(await rows.first().getAttribute('data-finding'), id);

    // Open it from its row (hydrated: client-side routing).
    await Promise.all([
      page.waitForURL((url) => url.pathname === `/findings/${id}`),
      page.click('table[data-testid=worklist] tbody tr >> nth=0 >> a.open-finding'),
    ]);
    await page.waitForSelector('[data-testid=status]');
    await waitForHydration(page);
    assert.equal(await statusLabel(page), 'New');
    assert.match(await page.textContent('h1'), /Colorectal/i);
    assert.match(await page.textContent('[data-testid=assignee]'), /\S/);
    assert.match(await page.textContent('[data-testid=patient]'), /Patient ID/);
    assert.ok(await page.locator('[data-testid=class-probabilities] tr').count() >= 1, 'the class probabilities are shown');
    const keySlice = await page.getAttribute('[data-testid=key-slice] img', 'src');
    const png = await page.request.get(new URL(keySlice, BASE).toString());
    assert.equal(png.status(), 200);
    assert.equal(png.headers()['content-type'], 'image/png');
    assert.deepEqual(await historyEvents(page), ['detected']);
    assert.deepEqual(await actionsShown(page), COORDINATOR_ACTIONS['New']);
    assert.equal(await page.locator('[data-testid=notice]').count(), 0);
    assert.equal(await page.locator('[data-testid=letter-link]').count(), 0, 'no letter before a work-up is ordered');

    const appointment = isoDay(5);
    const diagnosis = `Adenocarcinoma (e2e, ${MODE})`;
    const steps = [
      { event: 'start_review', label: 'Take for review', status: 'In review' },
      {
        event: 'order_workup', label: 'Order work-up', status: 'Work-up ordered',
        fill: async (form) => {
          await form.locator('select[name=modality]').selectOption('colonoscopy');
          assert.match(await form.locator('input[name=due_date]').inputValue(), /^\d{4}-\d{2}-\d{2}$/, 'the due date is prefilled');
          await form.locator('input[name=responsible]').fill('Dr. E2E Gastro');
        },
        check: async () => {
          const followup = await page.textContent('[data-testid=followup]');
          assert.match(followup, /Colonoscopy/);
          assert.match(followup, /Dr\. E2E Gastro/);
          // The printable recall letter names the examination.
          const link = page.locator('[data-testid=letter-link]');
          assert.equal(await link.getAttribute('href'), `/findings/${id}/letter`);
          const [letter] = await Promise.all([context.waitForEvent('page'), link.click()]);
          await letter.waitForLoadState();
          assert.equal(new URL(letter.url()).pathname, `/findings/${id}/letter`);
          assert.match(await letter.textContent('body'), /Colonoscopy/);
          await letter.close();
        },
      },
      {
        event: 'schedule_workup', label: 'Schedule work-up', status: 'Work-up scheduled',
        fill: async (form) => {
          await form.locator('input[name=date]').fill(appointment);
          await form.locator('input[name=site]').fill('Endoscopy unit, level 1');
        },
        check: async () => assert.match(await page.textContent('[data-testid=followup]'), new RegExp(`${appointment} at Endoscopy unit, level 1`)),
      },
      {
        event: 'complete_workup', label: 'Work-up done', status: 'Work-up done',
        fill: (form) => form.locator('input[name=summary]').fill('Colonoscopy performed; biopsy taken.'),
      },
      {
        event: 'record_outcome', label: 'Record outcome', status: 'Confirmed malignant',
        fill: async (form) => {
          await form.locator('select[name=outcome]').selectOption('confirmed_malignant');
          await form.locator('select[name=confirmed_by]').selectOption('pathology');
          await form.locator('input[name=diagnosis]').fill(diagnosis);
          assert.match(await form.locator('input[name=date]').inputValue(), /^\d{4}-\d{2}-\d{2}$/, 'the outcome date is prefilled');
        },
        check: async () => {
          const followup = await page.textContent('[data-testid=followup]');
          assert.ok(followup.includes(diagnosis), followup);
          assert.match(followup, /Patholog/i);
        },
      },
      { event: 'refer_to_mdt', label: 'Refer to MDT', status: 'Referred to MDT' },
    ];
    for (const step of steps) {
      const before = await historyEvents(page);
      const shownBefore = await actionsShown(page);
      assert.ok(shownBefore.includes(step.event), `${step.event} is offered in ${await statusLabel(page)}: ${shownBefore}`);
      await act(page, step.event, step.fill);
      assert.equal(await page.locator('[data-testid=error]').count(), 0,
        `${step.event} was refused: ${await page.locator('[data-testid=error]').allTextContents()}`);
      assert.equal((await page.textContent('[data-testid=notice]')).trim(), `Recorded: ${step.label}.`);
      assert.equal(await statusLabel(page), step.status, `status after ${step.event}`);
      assert.deepEqual(await historyEvents(page), [...before, step.event], `history gains ${step.event}`);
      assert.equal(await countEvents(page, step.event), 1);
      const shown = await actionsShown(page);
      assert.deepEqual(shown, COORDINATOR_ACTIONS[step.status], `actions in ${step.status}`);
      assert.notDeepEqual(shown, shownBefore, `the actions change after ${step.event}`);
      if (step.check) await step.check();
    }

    assert.deepEqual(await historyEvents(page),
      ['detected', 'start_review', 'order_workup', 'schedule_workup', 'complete_workup', 'record_outcome', 'refer_to_mdt']);
    // The referral sticks: a fresh load shows the same.
    await openFinding(page, id);
    assert.equal(await statusLabel(page), 'Referred to MDT');
    assert.equal(await countEvents(page, 'refer_to_mdt'), 1);
    // And the finding has left the new colorectal findings.
    await openWorklist(page, '?organ=colorectal&status=new');
    assert.equal(await page.locator(`table[data-testid=worklist] tr[data-finding="${id}"]`).count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`a form loaded before a colleague's change is refused (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'coordinator', PASSWORD);
    await waitForHydration(page);
    await openWorklist(page, '?status=in_review');
    const id = await firstFindingId(page);

    // The same finding in two tabs.
    const first = page;
    const second = watch(await context.newPage(), errors);
    await openFinding(first, id);
    await openFinding(second, id);
    const statusBefore = await statusLabel(first);
    const notesBefore = await countEvents(first, 'add_note');
    const historyBefore = await historyEvents(first);

    const stamp = `${MODE}, ${Date.now()}`;
    const firstNote = `First tab's note (${stamp})`;
    const secondNote = `Second tab's note (${stamp})`;
    await act(first, 'add_note', (form) => form.locator('textarea[name=text]').fill(firstNote));
    assert.equal((await first.textContent('[data-testid=notice]')).trim(), 'Recorded: Add note.');
    assert.equal(await countEvents(first, 'add_note'), notesBefore + 1);
    assert.ok((await first.textContent('[data-testid=notes]')).includes(firstNote));

    // The second tab still carries the version it loaded.
    await act(second, 'add_note', (form) => form.locator('textarea[name=text]').fill(secondNote));
    assert.ok(new URL(second.url()).searchParams.has('error'), second.url());
    assert.match(await second.textContent('[data-testid=error]'), /changed by someone else/);
    assert.equal(await second.locator('[data-testid=notice]').count(), 0);
    assert.equal(await countEvents(second, 'add_note'), notesBefore + 1, 'the refused note is not in the history');
    assert.deepEqual(await historyEvents(second), [...historyBefore, 'add_note']);
    const notes = await second.textContent('[data-testid=notes]');
    assert.ok(notes.includes(firstNote) && !notes.includes(secondNote), notes);
    assert.equal(await statusLabel(second), statusBefore);

    // The refusal reloaded the finding: the same form now carries the current version.
    await act(second, 'add_note', (form) => form.locator('textarea[name=text]').fill(secondNote));
    assert.equal((await second.textContent('[data-testid=notice]')).trim(), 'Recorded: Add note.');
    assert.equal(await countEvents(second, 'add_note'), notesBefore + 2);
    assert.ok((await second.textContent('[data-testid=notes]')).includes(secondNote));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`a surgeon sees a finding but is offered no clinical actions (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'surgeon', PASSWORD);
    await waitForHydration(page);
    await openWorklist(page, '?status=in_review');
    const id = await firstFindingId(page);
    await openFinding(page, id);
    assert.equal(await statusLabel(page), 'In review');
    assert.deepEqual(await actionsShown(page), ['add_note']);
    const history = await historyEvents(page);
    assert.equal(history[0], 'detected');

    // Posting a clinical event anyway is refused and changes nothing.
    const version = await page.getAttribute('form[data-testid=action-add_note] input[name=expected_version]', 'value');
    const response = await page.request.post(`${BASE}/findings/${id}/events`, {
      form: { event: 'record_contact_attempt', expected_version: version, channel: 'phone', result: 'no_answer' },
    });
    // Back on the finding with the refusal's code, which the page words ("Your role may not …").
    const refusal = new URL(response.url()).searchParams.get('error') ?? '';
    assert.ok(response.status() === 403 || refusal === 'role_may_not', `refused: ${response.status()} ${response.url()}`);
    if (refusal) assert.match(await response.text(), /Your role may not/);
    await openFinding(page, id);
    assert.deepEqual(await historyEvents(page), history);
    assert.equal(await statusLabel(page), 'In review');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test(`the worklist shows counts, filters overdue findings, and moves and selects with the keyboard (${MODE})`, async () => {
  const { context, page, errors } = await freshPage();
  try {
    await signIn(page, 'coordinator', PASSWORD);
    await waitForHydration(page);
    await openWorklist(page);

    // A count per state, the open states always.
    const counts = page.locator('[data-testid=counts] a.count');
    const states = await counts.evaluateAll((links) => links.map((a) => a.getAttribute('data-status')));
    for (const status of ['new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done']) {
      assert.ok(states.includes(status), `a count for ${status}: ${states}`);
    }
    for (const total of await page.locator('[data-testid=counts] a.count .count-total').allTextContents()) {
      assert.match(total, /^\d+$/);
    }
    assert.match(await page.textContent('[data-testid=total]'), /^\d+ finding\(s\)/);
    const dueCells = 'table[data-testid=worklist] tbody tr td:nth-child(6)';
    const overdueBadges = () => page.locator(dueCells).evaluateAll((cells) => cells.map((td) => td.querySelector('.badge.overdue') !== null));
    assert.ok((await overdueBadges()).includes(false), 'all open findings include some that are not overdue');
    // The demo program (server/src/demo/followup.rs) has findings in every state of the
    // lifecycle, the twelve written out here, some of them overdue.
    const worklist = await (await page.request.get(`${BASE}/api/v1/worklist`)).json();
    const present = worklist.counts.filter((c) => c.total > 0).map((c) => c.status).sort();
    assert.deepEqual(present, ['benign', 'confirmed_malignant', 'declined', 'dismissed', 'in_review', 'lost_to_followup', 'new', 'no_lesion', 'referred_to_mdt', 'workup_done', 'workup_ordered', 'workup_scheduled']);
    assert.ok(worklist.counts.some((c) => c.overdue > 0), 'some findings are overdue');

    // The quick filter "Overdue" (hydrated: routed on the client, the rows swap in place).
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('quick') === 'overdue'),
      page.click('nav.quickfilters a:text-is("Overdue")'),
    ]);
    await waitUntil(async () => {
      const badges = await overdueBadges();
      return badges.length > 0 && badges.every(Boolean);
    }, 'the worklist lists only overdue findings');
    const overdueRows = await page.locator('table[data-testid=worklist] tbody tr').count();
    assert.ok(overdueRows >= 1, 'the demo seeds overdue findings');
    assert.equal(await page.locator('table[data-testid=worklist] tbody tr.overdue').count(), overdueRows);
    assert.match(await page.textContent('[data-testid=total]'), new RegExp(`^${overdueRows} finding\\(s\\)`));
    assert.equal(await page.getAttribute('nav.quickfilters a:text-is("Overdue")', 'aria-current'), 'page');

    if (JAVASCRIPT) {
      // j/k and ↓/↑ move between the rows' links, x selects the focused row, Enter opens it.
      await openWorklist(page);
      const links = page.locator('table[data-testid=worklist] a.open-finding');
      assert.ok(await links.count() >= 3);
      const focused = (n) => links.nth(n).evaluate((a) => a === document.activeElement);
      // Which rows' selection boxes are ticked, by row index.
      const selected = () => page.locator('table[data-testid=worklist] tbody tr').evaluateAll((rows) =>
        rows.flatMap((row, i) => (row.querySelector('input[name=item]').checked ? [i] : [])));
      await page.focus('table[data-testid=worklist] tbody tr >> nth=0 >> input[name=item]');
      await page.keyboard.press('j');
      assert.ok(await focused(0), 'j focuses the first row link');
      await page.keyboard.press('j');
      assert.ok(await focused(1), 'j again moves to the second row');
      await page.keyboard.press('k');
      assert.ok(await focused(0), 'k moves back up');
      await page.keyboard.press('ArrowDown');
      assert.ok(await focused(1), '↓ moves down as j does');
      await page.keyboard.press('ArrowDown');
      assert.ok(await focused(2), '↓ again moves to the third row');
      await page.keyboard.press('ArrowUp');
      assert.ok(await focused(1), '↑ moves back up as k does');
      assert.deepEqual(await selected(), [], 'nothing is selected yet');
      await page.keyboard.press('x');
      assert.deepEqual(await selected(), [1], 'x selects the focused row, and only it');
      assert.ok(await focused(1), 'x leaves the focus where it was');
      await page.keyboard.press('x');
      assert.deepEqual(await selected(), [], 'x again unselects it');
      await page.keyboard.press('ArrowUp');
      assert.ok(await focused(0), '↑ moves to the first row');
      const href = await links.nth(0).getAttribute('href');
      await Promise.all([page.waitForURL((url) => url.pathname === href), page.keyboard.press('Enter')]);
      await page.waitForSelector('[data-testid=status]');
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
