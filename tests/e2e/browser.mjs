// Shared by the browser suite's test files (not a test file itself: node --test runs only
// *.test.mjs here): playwright-core from the tools folder, and Debian's chromium launched the
// same way for every file.
import { createRequire } from 'node:module';

export const require = createRequire(process.env.NODE_PATH ? process.env.NODE_PATH + '/' : import.meta.url);
const { chromium } = require('playwright-core');

/** Headless chromium (CHROMIUM, default /usr/bin/chromium) with no network of its own. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
