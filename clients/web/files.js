// The file list: search as you type, "load more" paging, download and
// delete (DESIGN.md, "REST API": GET/DELETE /api/v1/files). Each listing gets
// a generation number; a reply from an older generation (a query the user
// has since changed) is dropped, so results never arrive out of order.

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

	const state = { query: '', files: [], total: 0, loaded: false, loading: false, error: null, gen: 0 };
	let controller = null;

	function render() {
		reconcile(body, state.files, (f) => f.name, (f) => JSON.stringify(f) + formatDate(f.created_at), fileRow);
		const shown = state.files.length;
		const q = state.query;
		table.hidden = shown === 0;
		loadingRows.hidden = state.loaded || !!state.error;
		empty.hidden = !state.loaded || shown > 0 || !!state.error;
		if (!empty.hidden) {
			empty.querySelector('.empty-title').textContent = q ? `No files match “${q}”` : 'No files yet';
			empty.querySelector('.empty-hint').textContent = q
				? 'Search matches any part of a file name, including folders.'
				: 'Drop files onto this page or use Choose files to upload your first one.';
			empty.querySelector('[data-testid="search-clear"]').hidden = !q;
		}
		errorBox.hidden = !state.error;
		if (state.error) {
			errorBox.querySelector('.notice-text').textContent = state.error.status === 401
				? 'Sign in to see the files in this cluster.' : `Could not load files: ${state.error.message}`;
			errorBox.querySelector('[data-testid="files-retry"]').textContent = state.error.status === 401 ? 'Sign in' : 'Try again';
		}
		loadMoreBtn.hidden = !state.loaded || shown >= state.total || shown === 0;
		loadMoreBtn.textContent = `Load more (${formatCount(Math.max(0, state.total - shown))} more)`;
		if (!state.loaded) count.textContent = '';
		else if (q) count.textContent = `${plural(state.total, 'match', 'matches')}`;
		else if (shown < state.total) count.textContent = `${formatCount(shown)} of ${plural(state.total, 'file')}`;
		else count.textContent = plural(state.total, 'file');
		spinner.hidden = !state.loading;
	}

	/* Fetch rows [offset, offset+limit) for the current query; append when
	 * offset > 0, replace otherwise. */
	async function load({ offset = 0, limit = PAGE } = {}) {
		const gen = offset === 0 ? ++state.gen : state.gen;
		if (offset === 0 && controller) controller.abort();
		const mine = new AbortController();
		if (offset === 0) controller = mine;
		state.loading = true;
		render();
		try {
			const res = await api.listFiles({ q: state.query, limit, offset, signal: mine.signal });
			if (gen !== state.gen) return;
			const rows = Array.isArray(res?.files) ? res.files : [];
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
		syncUrl(state.query);
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
	loadMoreBtn.addEventListener('click', () => load({ offset: state.files.length }));

	function setQuery(q) {
		searchInput.value = q;
		state.query = q;
		syncUrl(q);
		load();
	}

	/* Reload what is shown (at least one page), keeping loaded pages. */
	function refresh() {
		return load({ limit: Math.max(PAGE, state.files.length) });
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
				icon('file', 16), h('span', {}, f.name))),
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

	const initial = new URLSearchParams(location.search).get('q') || '';
	searchInput.value = initial;
	state.query = initial.trim();
	render();

	return { refresh, get state() { return state; } };
}

function isTyping(el) {
	return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

function syncUrl(q) {
	const url = new URL(location.href);
	if (q) url.searchParams.set('q', q);
	else url.searchParams.delete('q');
	history.replaceState(null, '', url);
}
