// End-to-end test of `bestiary studio` in a real headless browser (Debian's Chromium driven by
// playwright-core; no browser download). Run by crates/cli/tests/cli_studio.rs, or by hand:
//   BESTIARY_BIN=target/debug/bestiary NETWORK=crates/stylegan/tests/fixtures/uncond16/network.pkl node e2e.mjs
// Exits 0 when every step passed; otherwise prints the failing step and exits 1 (a screenshot of the page
// at that moment is left in the temp folder it names).
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = process.env.BESTIARY_BIN;
const network = process.env.NETWORK;
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!bin || !network) fail('set BESTIARY_BIN and NETWORK');
if (!fs.existsSync(browserPath)) fail(`no browser at ${browserPath} (apt-get install chromium, or set CHROMIUM)`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-'));
const favs = path.join(tmp, 'favs');
let studio = null;
let browser = null;
let page = null;
let step = 'start';
const errors = [];

let reported = false;
function fail(msg) {
  console.error(`studio e2e: FAILED at '${step}': ${msg}`);
  reported = true;
  process.exitCode = 1;
  throw new Error(msg);
}

// Step names with their durations, printed as the test goes (for the logs of slow machines).
const t0 = Date.now();
let stepStart = t0;
function at(name) {
  if (step !== 'start') console.log(`  ${step}: ${((Date.now() - stepStart) / 1000).toFixed(1)} s`);
  step = name;
  stepStart = Date.now();
}

function check(cond, msg) { if (!cond) fail(msg); }

const timer = setTimeout(() => { console.error(`studio e2e: timed out at '${step}'`); cleanup().then(() => process.exit(1)); }, 240_000);
timer.unref();

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (studio && studio.exitCode === null) studio.kill('SIGKILL');
}

function startStudio() {
  return new Promise((resolve, reject) => {
    studio = spawn(bin, ['studio', '--network', network, '--port', '0', '--favorites', favs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    studio.stdout.on('data', (d) => { out += d; const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m); if (m) resolve(m[1]); });
    studio.stderr.on('data', (d) => { err += d; });
    studio.on('exit', (code) => reject(new Error(`studio exited (${code}) before serving: ${err.trim()}`)));
    setTimeout(() => reject(new Error('studio printed no URL within 120 s: ' + err.trim())), 120_000).unref();
  });
}

// Waits until every <img> matched by `sel` (at least `n`) has decoded pixels.
async function imagesLoaded(sel, n) {
  await page.waitForFunction(([sel, n]) => {
    const imgs = [...document.querySelectorAll(sel)];
    return imgs.length >= n && imgs.slice(0, n).every((i) => i.complete && i.naturalWidth > 0);
  }, [sel, n], { timeout: 60_000 });
}

async function focusSrcChange(before) {
  await page.waitForFunction((b) => {
    const i = document.getElementById('focusImg');
    return i.src && i.src !== b && i.complete && i.naturalWidth > 0;
  }, before, { timeout: 60_000 });
  return page.$eval('#focusImg', (i) => i.src);
}

async function setRange(sel, value) {
  await page.$eval(sel, (el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

async function saveFavourite(expected) {
  await page.click('#saveBtn');
  await page.waitForFunction((n) => document.querySelectorAll('#favorites .fav').length === n, expected, { timeout: 60_000 });
}

// RGBA pixels of a PNG file, decoded by the browser.
async function decodePng(file) {
  const b64 = fs.readFileSync(file).toString('base64');
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return { w: c.width, h: c.height, px: Array.from(ctx.getImageData(0, 0, c.width, c.height).data) };
  }, b64);
}

async function main() {
  at('start the studio');
  const url = await startStudio();

  at('launch the browser');
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/409|503|Conflict|Service Unavailable/.test(m.text())) errors.push('console: ' + m.text()); });

  at('open the page and load the grid');
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
  await imagesLoaded('#grid .tile img', 12);
  check((await page.textContent('#network')).includes('16px'), 'network info shown');

  at('endless scroll adds tiles');
  const before = await page.$$eval('#grid .tile', (t) => t.length);
  await page.evaluate(() => document.getElementById('sentinel').scrollIntoView());
  await page.waitForFunction((n) => document.querySelectorAll('#grid .tile').length > n, before, { timeout: 30_000 });

  at('focus a tile');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.click('#grid .tile[data-seed="3"]');
  let src = await focusSrcChange('');
  check((await page.textContent('#focusLabel')).includes('seed 3'), 'focus label names the seed');

  at('move psi');
  await setRange('#psi', 1.5);
  await page.waitForFunction(() => [...document.querySelectorAll('#grid .tile img')].slice(0, 8).every((i) => i.src.includes('psi=1.50') && i.complete && i.naturalWidth > 0), null, { timeout: 60_000 });
  src = await focusSrcChange(src);
  check((await page.textContent('#focusLabel')).includes('1.50'), 'focus follows psi');

  at('save the focused seed');
  await saveFavourite(1);

  at('breed and pick a child');
  await setRange('#strength', 0.6);
  await page.click('#breedBtn');
  await imagesLoaded('#children .child img', 6);
  await page.click('#children .child:nth-child(2)');
  src = await focusSrcChange(src);
  check((await page.textContent('#focusLabel')).includes('child 2'), 'the child is focused');
  await imagesLoaded('#lineage .step img', 2);

  at('breed again (lineage grows)');
  await page.click('#breedBtn');
  await imagesLoaded('#children .child img', 6);
  await page.click('#children .child:nth-child(1)');
  src = await focusSrcChange(src);
  await imagesLoaded('#lineage .step img', 3);
  await saveFavourite(2);

  at('move a direction slider');
  await setRange('#sliders input[data-index="0"]', 2.5);
  src = await focusSrcChange(src);

  at('mix two favourites');
  await imagesLoaded('#favorites .fav img', 2);
  await page.check('#favorites .fav:nth-child(1) input');
  await page.check('#favorites .fav:nth-child(2) input');
  await page.waitForFunction(() => !document.getElementById('mixBtn').disabled, null, { timeout: 10_000 });
  await page.selectOption('#mixCoarse', 'fav-0001');
  await page.selectOption('#mixMiddle', 'fav-0002');
  await page.selectOption('#mixFine', 'fav-0001');
  await page.click('#mixBtn');
  src = await focusSrcChange(src);
  check((await page.textContent('#focusLabel')).includes('mix'), 'the chimera is focused');
  await saveFavourite(3);

  at('local edit: paint a mask and re-roll it');
  const box = await page.locator('#maskCanvas').boundingBox();
  await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.35);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6, { steps: 8 });
  await page.mouse.up();
  await page.click('#rerollBtn');
  await imagesLoaded('#editImg', 1);
  await page.click('#pushBtn');
  await imagesLoaded('#editImg', 1);

  at('walk between favourites');
  await page.fill('#walkFrames', '8');
  await page.click('#walkBtn');
  await imagesLoaded('#walkImg', 1);
  const href = await page.$eval('#walkDownload', (a) => a.href);
  check(href.startsWith('blob:'), 'the walk is downloadable');
  const gifSrc = await page.$eval('#walkImg', (i) => i.src);
  await page.selectOption('#walkFormat', 'webp');
  await page.click('#walkBtn');
  await page.waitForFunction((old) => { const i = document.getElementById('walkImg'); return i.src !== old && i.complete && i.naturalWidth > 0; }, gifSrc, { timeout: 60_000 });
  check((await page.$eval('#walkDownload', (a) => a.download)) === 'walk.webp', 'the WebP walk is downloadable');

  at('saved files');
  for (const n of ['fav-0001', 'fav-0002', 'fav-0003']) {
    for (const ext of ['png', 'safetensors']) check(fs.existsSync(path.join(favs, `${n}.${ext}`)), `${n}.${ext} saved`);
  }
  const fav = path.join(favs, 'fav-0003.png');
  const bytes = fs.readFileSync(fav);
  check(bytes.subarray(1, 4).toString() === 'PNG' && bytes.includes(Buffer.from('bestiary')), 'a PNG with bestiary metadata');
  const saved = await decodePng(fav);
  check(saved.w === 16 && saved.h === 16, `the favourite is 16x16, got ${saved.w}x${saved.h}`);

  at('generate --projected-w reproduces the favourite');
  const outdir = path.join(tmp, 'gen');
  execFileSync(bin, ['generate', '--network', network, '--projected-w', path.join(favs, 'fav-0003.safetensors'), '--outdir', outdir], { stdio: 'pipe' });
  const gen = await decodePng(path.join(outdir, 'proj00.png'));
  check(gen.px.length === saved.px.length && gen.px.every((v, i) => v === saved.px[i]), 'identical pixels');

  at('no errors in the page');
  check(errors.length === 0, errors.join('; '));

  at('Ctrl-C stops the studio');
  await browser.close();
  browser = null;
  const code = await new Promise((resolve) => { studio.on('exit', (c) => resolve(c)); studio.kill('SIGINT'); setTimeout(() => resolve('still running'), 15_000).unref(); });
  check(code === 0, `exit status after SIGINT: ${code}`);
  at('done');
  console.log(`studio e2e: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

main()
  .catch(async (e) => {
    process.exitCode = 1;
    if (!reported) console.error(`studio e2e: FAILED at '${step}': ${e.stack || e}`);
    if (page) await page.screenshot({ path: path.join(tmp, 'failure.png') }).then(() => console.error(`screenshot: ${path.join(tmp, 'failure.png')}`)).catch(() => {});
  })
  .finally(async () => {
    clearTimeout(timer);
    await cleanup();
    if (process.exitCode !== 1) fs.rmSync(tmp, { recursive: true, force: true });
  });
