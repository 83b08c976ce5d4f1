// Opens a page in Debian's chromium through playwright-core (which never downloads a browser),
// waits for window.results and prints them as JSON. Usage: node run_page.mjs URL [CHROMIUM]
import {chromium} from 'playwright-core';

const [url, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
const browser = await chromium.launch({executablePath, args: ['--no-sandbox']});
try {
  const page = await browser.newPage();
  page.on('console', message => console.error(`page: ${message.text()}`));
  page.on('pageerror', error => console.error(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.results !== undefined, null, {timeout: 300_000});
  console.log(JSON.stringify(await page.evaluate(() => window.results)));
} finally {
  await browser.close();
}
