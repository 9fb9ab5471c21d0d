// The file list: folders to browse (names split at "/", S3 buckets as the
// top-level folders), search as you type across every folder, "load more"
// paging, download and delete (DESIGN.md, "REST API" and "S3 API"). Each
// listing gets a generation number; a reply from an older generation (a
// query or folder the user has since left) is dropped, so results never
// arrive out of order.

import { debounce, h, icon, reconcile } from './dom.js';
import * as api from './api.js';
import { confirmDialog, toast } from './dialogs.js';
import { baseName, formatBytes, formatCount, formatDate, formatFullDate, plural } from './format.js';

const PAGE = 50;
const SEARCH_DELAY_MS = 200;

export const HEALTH_LABEL = { ok: 'Healthy', under_replicated: 'Under-replicated', lost: 'Lost' };

/* hooks.openChunkMap(name) shows a file's chunk map; hooks.changed() runs
 * after a delete so the rest of the page can refresh. */
export function createFilesView(hooks) {
	const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
	const body = $('file-list');
	const table = body.closest('table');
	const searchInput = $('search');
	const spinner = document.querySelector('.search-spinner');
	const count = $('file-count');
	const empty = $('files-empty');
	const errorBox = $('files-error');
	const loadingRows = $('files-loading');
	const loadMoreBtn = $('load-more');
	const crumbs = $('breadcrumb');

	/* folder: the prefix browsed ("" = top); folders, buckets, next and
	 * truncated describe its listing (browsing only, not searching). */
	const state = { query: '', folder: '', files: [], folders: [], buckets: new Set(), next: null,
		truncated: false, total: 0, loaded: false, loading: false, error: null, gen: 0 };
	let controller = null;
	const browsing = () => !state.query;

	function rows() {
		const dirs = browsing() ? state.folders.map((p) => ({ folder: p })) : [];
		return dirs.concat(state.files);
	}

	function render() {
		reconcile(body, rows(), (x) => (x.folder !== undefined ? `d:${x.folder}` : `f:${x.name}`),
			(x) => (x.folder !== undefined ? `d:${x.folder}:${state.buckets.has(x.folder.slice(0, -1))}`
				: JSON.stringify(x) + formatDate(x.created_at) + state.folder),
			(x) => (x.folder !== undefined ? folderRow(x.folder) : fileRow(x)));
		renderCrumbs();
		const shown = state.files.length + (browsing() ? state.folders.length : 0);
		const q = state.query;
		table.hidden = shown === 0;
		loadingRows.hidden = state.loaded || !!state.error;
		empty.hidden = !state.loaded || shown > 0 || !!state.error;
		if (!empty.hidden) {
			empty.querySelector('.empty-title').textContent = q ? `No files match “${q}”`
				: state.folder ? 'This folder is empty' : 'No files yet';
			empty.querySelector('.empty-hint').textContent = q
				? 'Search matches any part of a file name, including folders.'
				: state.folder ? 'Files dropped here go into this folder.'
					: 'Drop files onto this page or use Choose files to upload your first one.';
			empty.querySelector('[data-testid="search-clear"]').hidden = !q;
		}
		errorBox.hidden = !state.error;
		if (state.error) {
			errorBox.querySelector('.notice-text').textContent = state.error.status === 401
				? 'Sign in to see the files in this cluster.' : `Could not load files: ${state.error.message}`;
			errorBox.querySelector('[data-testid="files-retry"]').textContent = state.error.status === 401 ? 'Sign in' : 'Try again';
		}
		if (browsing()) {
			loadMoreBtn.hidden = !state.loaded || !state.truncated;
			loadMoreBtn.textContent = 'Load more';
		} else {
			loadMoreBtn.hidden = !state.loaded || shown >= state.total || shown === 0;
			loadMoreBtn.textContent = `Load more (${formatCount(Math.max(0, state.total - shown))} more)`;
		}
		if (!state.loaded) count.textContent = '';
		else if (q) count.textContent = `${plural(state.total, 'match', 'matches')}`;
		else if (browsing()) count.textContent = [state.folders.length ? plural(state.folders.length, 'folder') : '',
			plural(state.files.length, 'file')].filter(Boolean).join(', ') + (state.truncated ? ' shown' : '');
		else if (shown < state.total) count.textContent = `${formatCount(shown)} of ${plural(state.total, 'file')}`;
		else count.textContent = plural(state.total, 'file');
		spinner.hidden = !state.loading;
	}

	/* Fetch rows [offset, offset+limit) for the current query, or a page of
	 * the current folder; append when offset > 0, replace otherwise. */
	async function load({ offset = 0, limit = PAGE } = {}) {
		const gen = offset === 0 ? ++state.gen : state.gen;
		if (offset === 0 && controller) controller.abort();
		const mine = new AbortController();
		if (offset === 0) controller = mine;
		state.loading = true;
		render();
		try {
			const res = browsing()
				? await api.listFolder({ prefix: state.folder, after: offset ? state.next : '', limit, signal: mine.signal })
				: await api.listFiles({ q: state.query, limit, offset, signal: mine.signal });
			if (gen !== state.gen) return;
			const rows = Array.isArray(res?.files) ? res.files : [];
			if (browsing()) {
				const dirs = Array.isArray(res?.folders) ? res.folders : [];
				state.folders = offset ? state.folders.concat(dirs.filter((d) => !state.folders.includes(d))) : dirs;
				if (Array.isArray(res?.buckets)) for (const b of res.buckets) state.buckets.add(b);
				state.next = res?.next || null;
				state.truncated = !!res?.truncated;
			}
			if (offset === 0) {
				state.files = rows;
			} else {
				const seen = new Set(state.files.map((f) => f.name));
				state.files = state.files.concat(rows.filter((f) => !seen.has(f.name)));
			}
			state.total = Math.max(Number(res?.total) || 0, state.files.length);
			state.loaded = true;
			state.error = null;
		} catch (err) {
			if (err.name === 'AbortError' || gen !== state.gen) return;
			state.error = err;
		} finally {
			if (gen === state.gen) {
				state.loading = false;
				render();
			}
		}
	}

	const searchSoon = debounce(() => {
		syncUrl(state.query, state.folder);
		load();
	}, SEARCH_DELAY_MS);

	searchInput.addEventListener('input', () => {
		state.query = searchInput.value.trim();
		searchSoon();
	});
	searchInput.addEventListener('keydown', (e) => {
		if (e.key === 'Escape' && searchInput.value) {
			e.preventDefault();
			setQuery('');
		}
	});
	document.addEventListener('keydown', (e) => {
		if (e.key === '/' && !e.ctrlKey && !e.metaKey && !isTyping(e.target) && !document.querySelector('dialog[open]')) {
			e.preventDefault();
			searchInput.focus();
		}
	});
	$('search-clear').addEventListener('click', () => {
		setQuery('');
		searchInput.focus();
	});
	$('files-retry').addEventListener('click', () => {
		if (state.error?.status === 401) document.getElementById('token-open').click();
		else refresh();
	});
	loadMoreBtn.addEventListener('click', () => load({ offset: Math.max(1, state.files.length) }));

	function setQuery(q) {
		searchInput.value = q;
		state.query = q;
		syncUrl(q, state.folder);
		load();
	}

	/* Browse a folder ("" = the top); leaves any search. */
	function openFolder(prefix) {
		state.folder = prefix;
		state.folders = [];
		state.files = [];
		state.loaded = false;
		if (state.query) {
			searchInput.value = '';
			state.query = '';
		}
		syncUrl('', prefix);
		load();
	}

	/* Reload what is shown (at least one page), keeping loaded pages. */
	function refresh() {
		return load({ limit: Math.max(PAGE, state.files.length + (browsing() ? state.folders.length : 0)) });
	}

	function renderCrumbs() {
		crumbs.hidden = !browsing();
		if (crumbs.hidden) return;
		const parts = state.folder.split('/').filter(Boolean);
		const items = [h('button', { type: 'button', 'data-testid': 'crumb', 'data-prefix': '',
			'aria-current': parts.length ? null : 'location', onclick: () => openFolder('') }, 'All files')];
		parts.forEach((p, i) => {
			const prefix = `${parts.slice(0, i + 1).join('/')}/`;
			const last = i === parts.length - 1;
			items.push(h('span', { class: 'sep', 'aria-hidden': 'true' }, '/'),
				h('button', { type: 'button', 'data-testid': 'crumb', 'data-prefix': prefix,
					'aria-current': last ? 'location' : null, onclick: () => { if (!last) openFolder(prefix); } }, p));
		});
		crumbs.replaceChildren(...items);
	}

	function folderRow(prefix) {
		const label = prefix.slice(state.folder.length, -1) || prefix;
		const bucket = !state.folder && state.buckets.has(prefix.slice(0, -1));
		return h('tr', { class: 'file-row folder-row', 'data-testid': 'folder-row', 'data-prefix': prefix },
			h('td', { class: 'col-name' },
				h('button', { type: 'button', class: 'file-name', 'data-testid': 'folder-name',
					title: `Open ${prefix}`, onclick: () => openFolder(prefix) },
				icon(bucket ? 'bucket' : 'folder', 16), h('span', {}, label))),
			h('td', { class: 'col-size' }, ''),
			h('td', { class: 'col-date' }, ''),
			h('td', { class: 'col-health' },
				bucket ? h('span', { class: 'badge badge-bucket', title: 'An S3 bucket' }, 'Bucket') : null),
			h('td', { class: 'col-actions' }));
	}

	async function remove(file) {
		const ok = await confirmDialog({
			title: 'Delete file?',
			text: `“${file.name}” (${formatBytes(file.size)}) will be removed from the cluster for everyone. This cannot be undone.`,
			confirmLabel: 'Delete',
		});
		if (!ok) return;
		try {
			await api.deleteFile(file.name);
			toast(`Deleted ${file.name}`, 'ok');
		} catch (err) {
			if (err.status !== 404) {
				toast(`Could not delete ${file.name}: ${err.message}`, 'bad', 7000);
				return;
			}
			toast(`${file.name} was already deleted`);
		}
		state.files = state.files.filter((f) => f.name !== file.name);
		state.total = Math.max(0, state.total - 1);
		render();
		hooks.changed?.();
	}

	async function download(e, file) {
		if (!api.getToken()) return; /* the plain link works without a token */
		e.preventDefault();
		try {
			const blob = await api.fetchFileBlob(file.name);
			const url = URL.createObjectURL(blob);
			const a = h('a', { href: url, download: baseName(file.name), hidden: true });
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(url), 60000);
		} catch (err) {
			toast(`Could not download ${file.name}: ${err.message}`, 'bad', 7000);
		}
	}

	function fileRow(f) {
		const health = typeof f.health === 'string' ? f.health : '';
		return h('tr', { class: 'file-row', 'data-testid': 'file-row', 'data-name': f.name, 'data-health': health || null },
			h('td', { class: 'col-name' },
				h('button', { type: 'button', class: 'file-name', 'data-testid': 'file-name',
					title: 'Show chunk map', onclick: () => hooks.openChunkMap(f.name) },
				icon('file', 16), h('span', {}, shownName(f.name)))),
			h('td', { class: 'col-size', 'data-testid': 'file-size', title: `${formatCount(f.size)} bytes` }, formatBytes(f.size)),
			h('td', { class: 'col-date', 'data-testid': 'file-date' },
				h('time', { datetime: f.created_at, title: formatFullDate(f.created_at) }, formatDate(f.created_at))),
			h('td', { class: 'col-health' },
				health ? h('span', { class: `badge badge-${health}`, 'data-testid': 'file-health', 'data-health': health },
					HEALTH_LABEL[health] || health) : null,
				f.replication ? h('span', { class: 'replication', title: `Replication factor ${f.replication}` },
					`×${f.replication}`) : null),
			h('td', { class: 'col-actions' },
				h('div', { class: 'actions' },
					h('a', { class: 'btn btn-icon btn-ghost', href: api.fileUrl(f.name), download: baseName(f.name),
						'data-testid': 'file-download', 'aria-label': `Download ${f.name}`, title: 'Download',
						onclick: (e) => download(e, f) }, icon('download')),
					h('button', { type: 'button', class: 'btn btn-icon btn-ghost', 'data-testid': 'file-chunks',
						'aria-label': `Chunk map of ${f.name}`, title: 'Chunk map',
						onclick: () => hooks.openChunkMap(f.name) }, icon('grid')),
					h('button', { type: 'button', class: 'btn btn-icon btn-ghost btn-danger-ghost', 'data-testid': 'file-delete',
						'aria-label': `Delete ${f.name}`, title: 'Delete', onclick: () => remove(f) }, icon('trash')))));
	}

	/* Browsing shows names below the folder; search shows whole names. */
	function shownName(name) {
		return browsing() && state.folder && name.startsWith(state.folder) ? name.slice(state.folder.length) : name;
	}

	const params = new URLSearchParams(location.search);
	const initial = params.get('q') || '';
	searchInput.value = initial;
	state.query = initial.trim();
	state.folder = params.get('path') || '';
	if (state.folder && !state.folder.endsWith('/')) state.folder += '/';
	render();

	return { refresh, openFolder, get folder() { return browsing() ? state.folder : ''; }, get state() { return state; } };
}

function isTyping(el) {
	return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

function syncUrl(q, folder) {
	const url = new URL(location.href);
	if (q) url.searchParams.set('q', q);
	else url.searchParams.delete('q');
	if (folder && !q) url.searchParams.set('path', folder);
	else url.searchParams.delete('path');
	history.replaceState(null, '', url);
}
