// Browser test of the web UI (DESIGN.md, "Web UI") against a running gateway:
// upload through the file input, search, browse folders, download, delete, then SIGKILL a
// worker and watch its node turn dead and the banner show the repair live,
// and finally the phone-width layout. Run with `node --test ui.test.mjs`;
// env: GATEWAY_URL (required), SCREENSHOT_DIR, PP_KILL_WORKER_CMD,
// PP_CHROMIUM, PP_WEB_TOKEN (see README.md). Steps share one page, in order.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const GATEWAY_URL = (process.env.GATEWAY_URL || '').replace(/\/+$/, '');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
const KILL_CMD = process.env.PP_KILL_WORKER_CMD || '';
const TOKEN = process.env.PP_WEB_TOKEN || '';
const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--disable-sync', '--no-first-run'];

const DEAD_TIMEOUT_MS = 20000;   /* kill -> node row shows dead */
const REPAIR_TIMEOUT_MS = 20000; /* dead -> banner shows repair (or healthy again) */
const HEALED_TIMEOUT_MS = 60000; /* -> banner healthy after the repair */
const STEP_TIMEOUT_MS = 180000;

/* Unique per run, only [a-z0-9-], so it is safe inside CSS attribute selectors. */
const RUN = `webtest-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
const ALPHA = { name: `${RUN}-alpha.bin`, bytes: crypto.randomBytes(5 * 1024 * 1024 + 123) };
const BETA = { name: `${RUN}/nested dir/beta notes.txt`, bytes: Buffer.from(`beta ${RUN}\n`.repeat(200)) };

const sel = {
	row: (name) => `[data-testid="file-row"][data-name="${name}"]`,
	rows: '[data-testid="file-row"]',
	upload: (name) => `[data-testid="upload-item"][data-name="${name}"]`,
	banner: '[data-testid="health-banner"]',
	nodeRow: '[data-testid="node-row"]',
};

let browser;
let context;
let page;
let shotCount = 0;
const pageErrors = [];

function sha256(buf) {
	return crypto.createHash('sha256').update(buf).digest('hex');
}

function findChromium() {
	const candidates = [process.env.PP_CHROMIUM, '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium',
		'/usr/bin/chromium-browser'].filter(Boolean);
	const found = candidates.find((p) => fs.existsSync(p));
	if (!found) throw new Error(`no Chromium found (tried ${candidates.join(', ')}); run tests/web/install-deps.sh`);
	return found;
}

async function shot(p, name) {
	if (!SCREENSHOT_DIR) return;
	const file = path.join(SCREENSHOT_DIR, `${String(++shotCount).padStart(2, '0')}-${name}.png`);
	await p.screenshot({ path: file, animations: 'disabled', fullPage: false });
}

/* Poll fn (async, in node) until it returns a truthy value. */
async function until(fn, timeoutMs, what) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		last = await fn();
		if (last) return last;
		if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

/* Load the UI in p; when a token is configured, answer the token prompt. */
async function openApp(p) {
	p.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
	await p.goto(`${GATEWAY_URL}/`, { waitUntil: 'domcontentloaded' });
	if (TOKEN) {
		await p.locator('[data-testid="token-dialog"]').waitFor({ state: 'visible', timeout: 15000 });
		await p.fill('[data-testid="token-input"]', TOKEN);
		await p.click('[data-testid="token-submit"]');
	}
	await p.waitForFunction(() => document.querySelector('[data-testid="health-banner"]')?.dataset.level !== 'unknown',
		null, { timeout: 15000 });
	await p.locator(sel.nodeRow).first().waitFor({ timeout: 15000 });
}

/* fetch() from inside the page, with the same token the UI uses. */
function pageFetch(p, url, init = {}) {
	return p.evaluate(async ({ url, init }) => {
		const token = sessionStorage.getItem('pp.token');
		const headers = { ...(init.headers || {}) };
		if (token) headers.Authorization = `Bearer ${token}`;
		const res = await fetch(url, { ...init, headers, cache: 'no-store' });
		const buf = new Uint8Array(await res.arrayBuffer());
		const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
		return {
			status: res.status,
			sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
			text: res.headers.get('content-type')?.includes('json') ? new TextDecoder().decode(buf) : '',
		};
	}, { url, init });
}

const encode = (name) => encodeURIComponent(name);

async function search(text) {
	await page.fill('[data-testid="search"]', text);
}

/* The names of the rows shown, once the list has settled on a predicate. */
async function rowsWhen(pred, what) {
	return until(async () => {
		const names = await page.locator(sel.rows).evaluateAll((els) => els.map((e) => e.dataset.name));
		return pred(names) ? names : null;
	}, 15000, what);
}

before(async () => {
	assert.ok(GATEWAY_URL, 'set GATEWAY_URL to the gateway base URL, e.g. http://127.0.0.1:8080');
	if (SCREENSHOT_DIR) fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
	browser = await chromium.launch({ executablePath: findChromium(), args: BROWSER_ARGS, headless: true });
	context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
	page = await context.newPage();
});

after(async () => {
	await browser?.close();
});

test('the page loads with the health banner and the nodes', { timeout: STEP_TIMEOUT_MS }, async () => {
	await openApp(page);
	const level = await page.getAttribute(sel.banner, 'data-level');
	assert.ok(['ok', 'warn', 'bad'].includes(level), `banner level ${level}`);
	assert.ok(await page.locator(sel.nodeRow).count() >= 1, 'at least one node row');
	await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
	await shot(page, 'loaded');
});

test('(a) upload through the file input shows a progress bar, then the file row', { timeout: STEP_TIMEOUT_MS }, async () => {
	await page.setInputFiles('[data-testid="file-input"]',
		{ name: ALPHA.name, mimeType: 'application/octet-stream', buffer: ALPHA.bytes });
	const item = page.locator(sel.upload(ALPHA.name));
	const bar = item.locator('[data-testid="upload-progress"]');
	await bar.waitFor({ state: 'visible', timeout: 10000 });
	assert.equal(await bar.getAttribute('role'), 'progressbar');
	await shot(page, 'upload-progress');
	await page.locator(`${sel.upload(ALPHA.name)}:is([data-state="done"], [data-state="error"])`).waitFor({ timeout: 120000 });
	if (await item.getAttribute('data-state') === 'error') {
		await shot(page, 'upload-failed');
		assert.fail(`upload failed in the UI: ${await item.locator('[data-testid="upload-error"]').innerText()}`);
	}
	assert.equal(await bar.getAttribute('aria-valuenow'), '100');
	const row = page.locator(sel.row(ALPHA.name));
	await row.waitFor({ state: 'visible', timeout: 15000 });
	assert.match(await row.locator('[data-testid="file-size"]').innerText(), /^5\.0 MiB$/);
	await shot(page, 'uploaded');

	/* The chunk map shows every chunk and replica the API reports. */
	await row.locator('[data-testid="file-chunks"]').click();
	const map = page.locator('[data-testid="chunkmap"]');
	await map.locator('[data-testid="chunkmap-grid"]').waitFor({ timeout: 15000 });
	const api = JSON.parse((await pageFetch(page, `/api/v1/chunkmap/${encode(ALPHA.name)}`)).text);
	assert.equal(api.name, ALPHA.name);
	assert.equal(api.size, ALPHA.bytes.length);
	assert.equal(api.sha256, sha256(ALPHA.bytes));
	assert.equal(await map.locator('[data-testid="chunkmap-chunk"]').count(), api.chunks.length);
	const okReplicas = api.chunks.reduce((n, c) => n + c.replicas.filter((r) => r.state === 'ok').length, 0);
	assert.ok(okReplicas >= api.chunks.length * 2, 'every chunk on at least two nodes');
	assert.equal(await map.locator('[data-testid="chunkmap-cell"][data-state="ok"]').count(), okReplicas);
	await shot(page, 'chunkmap');
	await map.locator('[data-testid="chunkmap-close"]').click();
	await map.waitFor({ state: 'hidden' });
});

test('(b) search narrows the list as you type', { timeout: STEP_TIMEOUT_MS }, async () => {
	/* A second file, with "/" and spaces in its name, straight through the API. */
	const put = await page.evaluate(async ({ url, body }) => {
		const token = sessionStorage.getItem('pp.token');
		const res = await fetch(url, { method: 'PUT', body, headers: token ? { Authorization: `Bearer ${token}` } : {} });
		return res.status;
	}, { url: `/api/v1/files/${encode(BETA.name)}`, body: BETA.bytes.toString() });
	assert.equal(put, 201);

	await search(RUN);
	let names = await rowsWhen((n) => n.length === 2, `two rows for "${RUN}"`);
	assert.deepEqual(new Set(names), new Set([ALPHA.name, BETA.name]));
	await search(`${RUN}/nested`);
	names = await rowsWhen((n) => n.length === 1 && n[0] === BETA.name, 'only the nested file');
	await shot(page, 'search-nested');
	await search(`${RUN}-alpha`);
	names = await rowsWhen((n) => n.length === 1 && n[0] === ALPHA.name, 'only the alpha file');
	await search(`${RUN}-no-such-file`);
	await page.locator('[data-testid="files-empty"]').waitFor({ state: 'visible', timeout: 15000 });
	assert.equal(await page.locator(sel.rows).count(), 0);
	await shot(page, 'search-empty');
	await search(RUN);
	await rowsWhen((n) => n.length === 2, 'both rows again');
});

test('(b2) without a search the list browses folders (names split at "/") with a path of crumbs', { timeout: STEP_TIMEOUT_MS }, async () => {
	await search('');
	const top = page.locator(`[data-testid="folder-row"][data-prefix="${RUN}/"]`);
	await top.waitFor({ timeout: 15000 });
	await page.locator(sel.row(ALPHA.name)).waitFor({ timeout: 15000 });
	assert.equal(await page.locator(sel.row(BETA.name)).count(), 0, 'a nested file stays in its folder');
	await top.locator('[data-testid="folder-name"]').click();
	const nested = page.locator(`[data-testid="folder-row"][data-prefix="${RUN}/nested dir/"]`);
	await nested.waitFor({ timeout: 15000 });
	await nested.locator('[data-testid="folder-name"]').click();
	const row = page.locator(sel.row(BETA.name));
	await row.waitFor({ timeout: 15000 });
	assert.equal(await row.locator('[data-testid="file-name"] span').textContent(), 'beta notes.txt');
	assert.equal(await page.locator('[data-testid="crumb"]').count(), 3);
	assert.equal(new URL(page.url()).searchParams.get('path'), `${RUN}/nested dir/`);
	await shot(page, 'folder-nested');
	await page.locator('[data-testid="crumb"][data-prefix=""]').click();
	await page.locator(sel.row(ALPHA.name)).waitFor({ timeout: 15000 });
	await search(RUN);
	await rowsWhen((n) => n.length === 2, 'both rows again');
});

test('(c) download gives back the same bytes', { timeout: STEP_TIMEOUT_MS }, async () => {
	const link = page.locator(sel.row(ALPHA.name)).locator('[data-testid="file-download"]');
	const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), link.click()]);
	assert.equal(download.suggestedFilename(), ALPHA.name);
	const file = await download.path();
	assert.equal(sha256(fs.readFileSync(file)), sha256(ALPHA.bytes), 'downloaded bytes match the upload');

	/* The nested name through its link's URL (percent-encoded "/"). */
	const href = await page.locator(sel.row(BETA.name)).locator('[data-testid="file-download"]').getAttribute('href');
	assert.equal(href, `/api/v1/files/${encode(BETA.name)}`);
	assert.equal(await page.locator(sel.row(BETA.name)).locator('[data-testid="file-download"]').getAttribute('download'),
		'beta notes.txt');
	const got = await pageFetch(page, href);
	assert.equal(got.status, 200);
	assert.equal(got.sha256, sha256(BETA.bytes));
	await shot(page, 'downloaded');
});

test('(d) delete asks for confirmation, then removes the row', { timeout: STEP_TIMEOUT_MS }, async () => {
	const row = page.locator(sel.row(BETA.name));
	const dialog = page.locator('[data-testid="confirm-dialog"]');

	await row.locator('[data-testid="file-delete"]').click();
	await dialog.waitFor({ state: 'visible' });
	await page.click('[data-testid="confirm-cancel"]');
	await dialog.waitFor({ state: 'hidden' });
	assert.equal(await row.count(), 1, 'cancel keeps the file');

	await row.locator('[data-testid="file-delete"]').click();
	await dialog.waitFor({ state: 'visible' });
	assert.match(await page.locator('[data-testid="confirm-text"]').innerText(), /beta notes\.txt/);
	await shot(page, 'delete-confirm');
	await page.click('[data-testid="confirm-delete"]');
	await row.waitFor({ state: 'detached', timeout: 15000 });
	await rowsWhen((n) => n.length === 1 && n[0] === ALPHA.name, 'only alpha left');
	assert.equal((await pageFetch(page, `/api/v1/files/${encode(BETA.name)}`, { method: 'HEAD' })).status, 404);
	await shot(page, 'deleted');
});

test('(e) a killed worker turns dead and the banner shows the repair, live', { timeout: STEP_TIMEOUT_MS }, async (t) => {
	if (!KILL_CMD) {
		t.skip('PP_KILL_WORKER_CMD is not set');
		return;
	}
	await search('');
	await page.locator(sel.row(ALPHA.name)).waitFor({ timeout: 15000 });
	/* Nodes already dead (a reused cluster) do not count. */
	const deadBefore = await page.locator(`${sel.nodeRow}[data-state="dead"]`)
		.evaluateAll((els) => els.map((e) => e.dataset.nodeId));
	const newlyDead = `${sel.nodeRow}[data-state="dead"]${deadBefore.map((id) => `:not([data-node-id="${id}"])`).join('')}`;

	/* Record every banner state, and mark the document to prove it never reloads. */
	await page.evaluate((run) => {
		window.__ppRun = run;
		window.__ppBanner = [];
		const banner = document.querySelector('[data-testid="health-banner"]');
		const note = () => window.__ppBanner.push({ level: banner.dataset.level, text: banner.innerText });
		note();
		new MutationObserver(note).observe(banner, { subtree: true, childList: true, attributes: true, characterData: true });
	}, RUN);
	let loads = 0;
	const onLoad = () => loads++;
	page.on('domcontentloaded', onLoad);

	await new Promise((resolve, reject) => {
		exec(KILL_CMD, { timeout: 15000 }, (err, stdout, stderr) =>
			err ? reject(new Error(`PP_KILL_WORKER_CMD failed: ${err.message} ${stderr}`)) : resolve(stdout));
	});

	const dead = page.locator(newlyDead);
	await dead.first().waitFor({ timeout: DEAD_TIMEOUT_MS });
	assert.equal(await dead.first().locator('[data-testid="node-state"]').innerText(), 'Dead');
	await shot(page, 'node-dead');

	const sawRepair = () => page.evaluate(() => window.__ppBanner.some((b) => /Repairing/.test(b.text)));
	const bannerLevel = () => page.getAttribute(sel.banner, 'data-level');
	await until(async () => (await sawRepair()) || (await bannerLevel()) === 'ok', REPAIR_TIMEOUT_MS,
		'the banner to show the repair or be healthy again');
	if (await sawRepair()) await shot(page, 'repairing');

	/* The chunk map follows too: the dead node's copies are no longer "ok". */
	await page.locator(sel.row(ALPHA.name)).locator('[data-testid="file-chunks"]').click();
	const map = page.locator('[data-testid="chunkmap"]');
	await map.locator('[data-testid="chunkmap-grid"]').waitFor({ timeout: 15000 });
	const deadId = await dead.first().getAttribute('data-node-id');
	assert.equal(await map.locator(`[data-testid="chunkmap-cell"][data-node="${deadId}"][data-state="ok"]`).count(), 0,
		'no healthy copy shown on the dead node');
	await shot(page, 'chunkmap-after-kill');
	await map.locator('[data-testid="chunkmap-close"]').click();

	await until(async () => (await bannerLevel()) === 'ok', HEALED_TIMEOUT_MS, 'the banner to be healthy after the repair');
	await page.locator(`${sel.row(ALPHA.name)} [data-testid="file-health"][data-health="ok"]`)
		.waitFor({ timeout: 15000 }).catch(() => {}); /* the row's badge only if the gateway sends health */
	await shot(page, 'healed');

	/* Healthy again means repaired: every chunk has its copies on live nodes. */
	const healed = JSON.parse((await pageFetch(page, `/api/v1/chunkmap/${encode(ALPHA.name)}`)).text);
	for (const c of healed.chunks) {
		const live = c.replicas.filter((r) => r.state === 'ok' && String(r.node) !== deadId);
		assert.ok(live.length >= healed.replication, `chunk ${c.index} has ${live.length} healthy copies after the repair`);
	}

	assert.equal(await page.evaluate(() => window.__ppRun), RUN, 'the page was not reloaded');
	page.off('domcontentloaded', onLoad);
	assert.equal(loads, 0, 'no document was loaded again');
	const got = await pageFetch(page, `/api/v1/files/${encode(ALPHA.name)}`);
	assert.equal(got.sha256, sha256(ALPHA.bytes), 'the file still downloads intact after the kill');
});

test('the layout fits a phone screen (390x844) without horizontal overflow', { timeout: STEP_TIMEOUT_MS }, async () => {
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
	try {
		const p = await phone.newPage();
		await openApp(p);
		await p.locator(sel.rows).first().waitFor({ timeout: 15000 });
		const overflow = () => p.evaluate(() => ({
			doc: document.documentElement.scrollWidth,
			body: document.body.scrollWidth,
			width: window.innerWidth,
			wide: [...document.querySelectorAll('body *')].filter((el) => {
				const r = el.getBoundingClientRect();
				return r.width > 0 && r.right > window.innerWidth + 1 && !el.closest('.table-wrap, .cm-cells');
			}).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
		}));
		let o = await overflow();
		assert.ok(o.doc <= o.width && o.body <= o.width, `page is ${o.doc}px wide in a ${o.width}px viewport`);
		assert.deepEqual(o.wide, [], 'no element sticks out to the right');
		await shot(p, 'phone');
		if (SCREENSHOT_DIR) {
			await p.screenshot({ path: path.join(SCREENSHOT_DIR, `${String(++shotCount).padStart(2, '0')}-phone-full.png`), fullPage: true, animations: 'disabled' });
		}

		await p.locator('[data-testid="file-chunks"]').first().click();
		await p.locator('[data-testid="chunkmap-grid"]').waitFor({ timeout: 15000 });
		const box = await p.locator('[data-testid="chunkmap"]').boundingBox();
		assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the chunk map fits the screen');
		o = await overflow();
		assert.ok(o.doc <= o.width, 'no overflow with the chunk map open');
		await shot(p, 'phone-chunkmap');
	} finally {
		await phone.close();
	}
});

test('no uncaught errors in the page', () => {
	assert.deepEqual(pageErrors, []);
});
