// Opens the page of `mnist-tfx serve`, prints the model version it shows, then waits for the page
// to show another one (after serving/latest moves) and prints that. Used by tests/test_serve_e2e.py.
// Usage: node wait_for_reload.mjs URL CHROMIUM
import {chromium} from 'playwright-core';

const [url, executablePath] = process.argv.slice(2);
const browser = await chromium.launch({executablePath, args: ['--no-sandbox']});
try {
  const page = await browser.newPage();
  await page.goto(url);
  const first = await (await page.waitForSelector('#model[data-version]', {timeout: 120_000})).getAttribute('data-version');
  console.log(first);
  await page.waitForFunction(version => document.getElementById('model').dataset.version !== version, first,
                             {timeout: 120_000});
  console.log(await page.textContent('#model'));
} finally {
  await browser.close();
}
