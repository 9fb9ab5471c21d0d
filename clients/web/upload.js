// Uploads: files from the picker or dropped anywhere on the page (folders
// too, keeping their relative paths as names) go through a small queue, at
// most UPLOAD_PARALLEL at a time, each PUT by XMLHttpRequest with its own
// progress bar. An item is done only when the gateway answers 201, that is
// after every chunk is stored on its replicas and the file is committed.

import { h, icon } from './dom.js';
import * as api from './api.js';
import { toast } from './dialogs.js';
import { formatBytes, plural } from './format.js';

const UPLOAD_PARALLEL = 2;
const MAX_DROP_FILES = 1000;

/* hooks.committed(file) runs after each successful upload; hooks.folder()
 * is the folder shown, which names of new uploads start with. */
export function createUploader(hooks) {
	const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
	const input = $('file-input');
	const panel = $('uploads');
	const list = $('upload-list');
	const summary = $('uploads-summary');
	const overlay = $('drop-overlay');
	const items = [];
	let nextId = 1;

	input.addEventListener('change', () => {
		add([...input.files].map((file) => ({ file, name: file.name })));
		input.value = '';
	});
	$('uploads-clear').addEventListener('click', () => {
		for (const item of [...items]) {
			if (item.state === 'done' || item.state === 'cancelled' || item.state === 'error') drop(item);
		}
		update();
	});
	setupDrop(overlay, $('dropzone'), add);

	/* New files go into the folder being shown. */
	function add(entries) {
		const folder = hooks.folder?.() || '';
		enqueue(entries.map((e) => ({ ...e, name: folder + e.name })));
	}

	function enqueue(entries) {
		if (!entries.length) return;
		for (const { file, name } of entries) {
			const item = { id: nextId++, file, name, state: 'queued', loaded: 0, total: file.size, error: '', handle: null };
			item.el = itemElement(item);
			items.push(item);
			list.append(item.el);
			paint(item);
		}
		pump();
		update();
	}

	function drop(item) {
		items.splice(items.indexOf(item), 1);
		item.el.remove();
	}

	function pump() {
		let active = items.filter((i) => i.state === 'uploading' || i.state === 'committing').length;
		for (const item of items) { /* oldest first */
			if (active >= UPLOAD_PARALLEL) break;
			if (item.state !== 'queued') continue;
			start(item);
			active++;
		}
	}

	function start(item) {
		item.state = 'uploading';
		item.loaded = 0;
		item.error = '';
		paint(item);
		item.handle = api.uploadFile(item.file, item.name, {
			onProgress(loaded, total) {
				item.loaded = loaded;
				item.total = total || item.total;
				paint(item);
			},
			onSent() {
				item.loaded = item.total;
				item.state = 'committing';
				paint(item);
				update();
			},
		});
		item.handle.promise.then((file) => {
			item.state = 'done';
			item.loaded = item.total;
			hooks.committed?.(file || { name: item.name });
		}, (err) => {
			if (err.name === 'AbortError') {
				item.state = 'cancelled';
			} else {
				item.state = 'error';
				item.error = err.status === 401 ? 'Sign in and retry: the gateway needs an access token'
					: err.code && err.code !== String(err.status) ? `${err.message} (${err.code})` : err.message;
				toast(`Upload of ${item.name} failed: ${err.message}`, 'bad', 7000);
			}
		}).finally(() => {
			item.handle = null;
			paint(item);
			pump();
			update();
		});
		update();
	}

	function itemElement(item) {
		const action = h('button', { type: 'button', class: 'btn btn-icon btn-ghost btn-sm', 'data-testid': 'upload-action',
			onclick: () => {
				if (item.handle) item.handle.abort();
				else if (item.state === 'queued') { item.state = 'cancelled'; paint(item); update(); }
				else if (item.state === 'error' || item.state === 'cancelled') { item.state = 'queued'; paint(item); pump(); update(); }
				else { drop(item); update(); }
			} });
		const el = h('li', { class: 'upload-item', 'data-testid': 'upload-item', 'data-name': item.name },
			h('div', { class: 'upload-top' },
				h('span', { class: 'upload-icon', 'aria-hidden': 'true' }),
				h('div', { class: 'upload-text' },
					h('span', { class: 'upload-name', 'data-testid': 'upload-name' }, item.name),
					h('span', { class: 'upload-status', 'data-testid': 'upload-status' })),
				action),
			h('div', { class: 'progress', role: 'progressbar', 'data-testid': 'upload-progress',
				'aria-label': `Upload progress of ${item.name}`, 'aria-valuemin': '0', 'aria-valuemax': '100' },
			h('span', { class: 'progress-fill' })),
			h('p', { class: 'upload-error', 'data-testid': 'upload-error', hidden: true }));
		el._action = action;
		return el;
	}

	function paint(item) {
		const el = item.el;
		const pct = item.total > 0 ? Math.min(100, (item.loaded / item.total) * 100) : (item.state === 'done' ? 100 : 0);
		el.dataset.state = item.state;
		const bar = el.querySelector('.progress');
		bar.setAttribute('aria-valuenow', pct.toFixed(0));
		bar.setAttribute('aria-valuetext', statusText(item, pct));
		bar.dataset.state = item.state;
		el.querySelector('.progress-fill').style.width = `${item.state === 'error' || item.state === 'cancelled' ? 100 : pct}%`;
		el.querySelector('.upload-status').textContent = statusText(item, pct);
		const err = el.querySelector('.upload-error');
		err.hidden = !item.error;
		err.textContent = item.error;
		const running = item.state === 'uploading' || item.state === 'committing' || item.state === 'queued';
		const retry = item.state === 'error' || item.state === 'cancelled';
		el._action.replaceChildren(icon(running ? 'x' : retry ? 'retry' : 'check', 16));
		const verb = running ? 'Cancel upload of' : retry ? 'Retry upload of' : 'Dismiss';
		el._action.setAttribute('aria-label', `${verb} ${item.name}`);
		el._action.title = running ? 'Cancel' : retry ? 'Retry' : 'Dismiss';
		el._action.disabled = item.state === 'committing';
	}

	function update() {
		panel.hidden = items.length === 0;
		const n = (s) => items.filter((i) => i.state === s).length;
		const active = n('uploading') + n('committing') + n('queued');
		summary.textContent = [active ? `${active} in progress` : '', n('done') ? `${n('done')} done` : '',
			n('error') ? `${n('error')} failed` : ''].filter(Boolean).join(' · ');
	}

	/* Leaving with uploads running would cancel them: ask first. */
	window.addEventListener('beforeunload', (e) => {
		if (items.some((i) => i.handle)) {
			e.preventDefault();
			e.returnValue = '';
		}
	});

	return { enqueue };
}

function statusText(item, pct) {
	switch (item.state) {
	case 'queued': return `Waiting · ${formatBytes(item.total)}`;
	case 'uploading': return `${formatBytes(item.loaded)} of ${formatBytes(item.total)} · ${pct.toFixed(0)}%`;
	case 'committing': return 'Storing replicas…';
	case 'done': return `Uploaded · ${formatBytes(item.total)}`;
	case 'cancelled': return 'Cancelled';
	case 'error': return 'Failed';
	default: return '';
	}
}

/* Show the overlay while files are dragged over the window and hand dropped
 * files (walking dropped folders) to enqueue. */
function setupDrop(overlay, zone, enqueue) {
	let depth = 0;
	const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
	const hide = () => {
		depth = 0;
		overlay.hidden = true;
		zone.classList.remove('dropzone-active');
	};
	window.addEventListener('dragenter', (e) => {
		if (!hasFiles(e)) return;
		e.preventDefault();
		depth++;
		overlay.hidden = false;
		zone.classList.add('dropzone-active');
	});
	window.addEventListener('dragover', (e) => {
		if (!hasFiles(e)) return;
		e.preventDefault();
		e.dataTransfer.dropEffect = 'copy';
	});
	window.addEventListener('dragleave', (e) => {
		if (!hasFiles(e)) return;
		depth = Math.max(0, depth - 1);
		if (depth === 0) hide();
	});
	window.addEventListener('drop', (e) => {
		if (!hasFiles(e)) return;
		e.preventDefault();
		hide();
		filesFromDrop(e.dataTransfer).then((entries) => {
			if (entries.length > MAX_DROP_FILES) {
				toast(`Only the first ${MAX_DROP_FILES} of ${plural(entries.length, 'file')} were queued`, 'bad');
				entries = entries.slice(0, MAX_DROP_FILES);
			}
			enqueue(entries);
		}, (err) => toast(`Could not read the dropped files: ${err.message}`, 'bad'));
	});
}

/* Entries must be taken from the DataTransfer synchronously, before any
 * await, or the browser empties it. */
async function filesFromDrop(dt) {
	const entries = [...(dt.items || [])].filter((i) => i.kind === 'file')
		.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
	const plain = [...(dt.files || [])];
	if (!entries.length || entries.some((e) => !e)) return plain.map((file) => ({ file, name: file.name }));
	const out = [];
	async function walk(entry, prefix) {
		if (out.length > MAX_DROP_FILES) return;
		if (entry.isFile) {
			const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
			out.push({ file, name: prefix + file.name });
		} else if (entry.isDirectory) {
			const reader = entry.createReader();
			for (;;) {
				const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
				if (!batch.length) break;
				for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
			}
		}
	}
	for (const entry of entries) await walk(entry, '');
	return out;
}
