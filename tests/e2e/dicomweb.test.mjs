// DICOMweb as OHIF's viewer uses it: dicomweb-client (the library OHIF's DICOMweb data source is
// built on) running in the browser, signed in, against the demo server's phantom studies:
// QIDO-RS for studies and series, WADO-RS series metadata, a native frame and an original.
// Needs JavaScript, so it runs in the JavaScript-on pass only.
//   E2E_BASE_URL=http://127.0.0.1:PORT E2E_PASSWORD=... E2E_JAVASCRIPT=on node --test tests/e2e
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, require } from './browser.mjs';

const CLIENT_BUNDLE = require.resolve('dicomweb-client/build/dicomweb-client.js');

const BASE = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.E2E_PASSWORD ?? 'elysium-demo-2026';
const JAVASCRIPT = (process.env.E2E_JAVASCRIPT ?? 'on') === 'on';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

test('a viewer browses the phantom studies with dicomweb-client', { skip: !JAVASCRIPT && 'needs JavaScript' }, async () => {
  // The library is added to an Elysium page (so requests are same-origin, with the session
  // cookie); Elysium's Content-Security-Policy would refuse an injected script, hence bypassCSP.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.fill('#username', 'radiologist');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
  await page.addScriptTag({ path: CLIENT_BUNDLE });

  const seen = await page.evaluate(async () => {
    const client = new DICOMwebClient.api.DICOMwebClient({ url: `${location.origin}/dicomweb` });
    const value = (dataset, tag) => dataset[tag]?.Value?.[0];
    // A demo phantom with its images (the programme history's newer studies store none).
    const studies = await client.searchForStudies({ queryParams: { ModalitiesInStudy: 'CT', PatientID: 'PH-2601-0001' } });
    const studyInstanceUID = value(studies[0], '0020000D');
    const series = await client.searchForSeries({ studyInstanceUID });
    const seriesInstanceUID = value(series[0], '0020000E');
    const metadata = await client.retrieveSeriesMetadata({ studyInstanceUID, seriesInstanceUID });
    const first = metadata[0];
    const sopInstanceUID = value(first, '00080018');
    const frames = await client.retrieveInstanceFrames({ studyInstanceUID, seriesInstanceUID, sopInstanceUID, frameNumbers: [1] });
    const original = await client.retrieveInstance({ studyInstanceUID, seriesInstanceUID, sopInstanceUID });
    const pixels = new Int16Array(frames[0]);
    return {
      studies: studies.length,
      seriesInstances: value(series[0], '00201209'),
      instances: metadata.length,
      rows: value(first, '00280010'),
      columns: value(first, '00280011'),
      bitsAllocated: value(first, '00280100'),
      frameBytes: frames[0].byteLength,
      distinctValues: new Set(pixels).size,
      originalHasPreamble: new TextDecoder().decode(new Uint8Array(original).slice(128, 132)),
    };
  });
  assert.ok(seen.studies >= 1, `CT studies found: ${seen.studies}`);
  assert.equal(seen.instances, seen.seriesInstances, 'one metadata object per instance QIDO-RS counts');
  assert.equal(seen.bitsAllocated, 16);
  assert.equal(seen.frameBytes, seen.rows * seen.columns * 2, 'the frame is rows x columns 16-bit values');
  assert.ok(seen.distinctValues > 100, `an image, not a blank: ${seen.distinctValues} distinct values`);
  assert.equal(seen.originalHasPreamble, 'DICM', 'the original instance, as stored');
  await context.close();
});
