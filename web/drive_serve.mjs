// Draws digits on the page of `mnist-tfx serve` with the mouse (pointer events), as a person would,
// and reports what the page read, then its model line and correction buttons. Used by tests/test_serve_e2e.py.
// Usage: node drive_serve.mjs URL CHROMIUM STROKES.json [SCREENSHOT.png]
// STROKES.json: [{"strokes": [[[x, y], ...], ...], "correct_as": <label> | null}, ...]
import {readFileSync} from 'node:fs';
import {chromium} from 'playwright-core';

const [url, executablePath, strokesFile, screenshot] = process.argv.slice(2);
const digits = JSON.parse(readFileSync(strokesFile, 'utf8'));
const browser = await chromium.launch({executablePath, args: ['--no-sandbox']});
try {
  const page = await browser.newPage({viewport: {width: 1000, height: 640}});
  page.on('pageerror', error => console.error(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForSelector('#model[data-version]', {timeout: 120_000});
  const results = [];
  for (const digit of digits) {
    await page.click('#clear');
    const pad = await (await page.$('#pad')).boundingBox();
    for (const stroke of digit.strokes) {
      await page.mouse.move(pad.x + stroke[0][0], pad.y + stroke[0][1]);
      await page.mouse.down();
      for (const [x, y] of stroke.slice(1)) await page.mouse.move(pad.x + x, pad.y + y, {steps: 2});
      await page.mouse.up();
    }
    await page.waitForFunction(count => document.getElementById('top').dataset.serial === String(count),
                               digit.strokes.length + results.reduce((n, r) => n + r.strokes, 0), {timeout: 60_000});
    const top = await page.$$eval('#top tr', rows => rows.map(row => ({label: Number(row.dataset.label),
                                                                     text: row.textContent})));
    const prepared = await page.$eval('#prepared', canvas => Array.from(
        canvas.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)));
    const result = {strokes: digit.strokes.length, top, prepared};
    if (digit.correct_as !== null && digit.correct_as !== undefined) {
      if (screenshot) await page.screenshot({path: screenshot});
      await page.click(`#labels button[data-label="${digit.correct_as}"]`);
      await page.waitForFunction(() => /Stored|Not stored/.test(document.getElementById('message').textContent));
      result.message = await page.textContent('#message');
      result.waiting = await page.textContent('#waiting');
    }
    results.push(result);
  }
  results.push({model: await page.textContent('#model'),
                labels: await page.$$eval('#labels button', buttons => buttons.map(button => ({
                  label: Number(button.dataset.label), text: button.textContent})))});
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
