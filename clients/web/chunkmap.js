// A file's chunk map (DESIGN.md, "JSON shapes": chunk map) in a dialog: one
// row per node, one cell per chunk, coloured by the replica's state on that
// node (ok, pending, suspect, dead, corrupt, or no copy), above a row with
// each chunk's own health. While open it refreshes with the rest of the page,
// so a repair can be watched filling the cells in.

import { h, icon } from './dom.js';
import * as api from './api.js';
import { formatBytes, formatCount, formatFullDate, plural } from './format.js';
import { NODE_STATE_LABEL } from './nodes.js';

const MAX_CELLS = 4096;     /* chunks drawn per row; beyond, a note says so */
const MAX_TABLE_ROWS = 500; /* rows in the chunk list */

export const REPLICA_LABEL = {
	ok: 'Healthy copy', pending: 'Being copied', suspect: 'On a suspect node', dead: 'On a dead node',
	corrupt: 'Corrupt (quarantined)', none: 'No copy',
};
const CHUNK_LABEL = { ok: 'Fully replicated', under: 'Under-replicated', lost: 'Lost' };

/* getNodes() returns the nodes view's latest list, for node states and for
 * nodes that hold no chunk of this file. */
export function createChunkMap({ getNodes }) {
	const dialog = document.getElementById('chunkmap-dialog');
	const nameEl = dialog.querySelector('[data-testid="chunkmap-name"]');
	const body = dialog.querySelector('[data-testid="chunkmap-body"]');
	const closeBtn = dialog.querySelector('[data-testid="chunkmap-close"]');
	closeBtn.append(icon('x', 20));
	closeBtn.addEventListener('click', () => dialog.close());
	/* A click on the backdrop (outside the dialog box) closes it too. */
	dialog.addEventListener('click', (e) => {
		if (e.target === dialog) dialog.close();
	});
	dialog.addEventListener('close', () => {
		current = null;
	});

	let current = null;
	let gen = 0;
	let listOpen = false;

	async function load(quiet) {
		const name = current;
		const mine = ++gen;
		if (!quiet) body.replaceChildren(h('div', { class: 'cm-loading' }, h('span', { class: 'spinner' }), 'Loading chunk map…'));
		try {
			const map = await api.getChunkMap(name);
			if (mine !== gen || name !== current) return;
			const scroll = body.scrollTop;
			body.replaceChildren(...renderMap(map, getNodes(), listOpen, (open) => { listOpen = open; }));
			body.scrollTop = scroll;
		} catch (err) {
			if (mine !== gen || name !== current) return;
			if (quiet && err.status !== 404) return; /* keep the last good map on a passing error */
			body.replaceChildren(h('div', { class: 'notice notice-bad', 'data-testid': 'chunkmap-error', role: 'alert' },
				icon('alert', 16), h('span', { class: 'notice-text' },
					err.status === 404 ? 'This file no longer exists.' : `Could not load the chunk map: ${err.message}`)));
		}
	}

	return {
		open(name) {
			current = name;
			listOpen = false;
			nameEl.textContent = name;
			if (!dialog.open) dialog.showModal();
			closeBtn.focus();
			load(false);
		},
		refresh() {
			if (dialog.open && current !== null) return load(true);
			return null;
		},
	};
}

function chunkHealth(chunk, replication) {
	const replicas = Array.isArray(chunk.replicas) ? chunk.replicas : [];
	const ok = replicas.filter((r) => r.state === 'ok').length;
	if (ok >= replication) return 'ok';
	if (!replicas.some((r) => r.state === 'ok' || r.state === 'suspect')) return 'lost';
	return 'under';
}

function renderMap(map, knownNodes, listOpen, setListOpen) {
	const chunks = Array.isArray(map.chunks) ? [...map.chunks].sort((a, b) => a.index - b.index) : [];
	const replication = Number(map.replication) || 2;
	const health = chunks.map((c) => chunkHealth(c, replication));
	const under = health.filter((s) => s === 'under').length;
	const lost = health.filter((s) => s === 'lost').length;

	/* Rows: every known node, plus any node named only in a replica. */
	const nodes = new Map();
	for (const n of knownNodes) nodes.set(String(n.id), { id: String(n.id), state: n.state, address: n.address });
	for (const c of chunks) {
		for (const r of c.replicas || []) {
			if (!nodes.has(String(r.node))) nodes.set(String(r.node), { id: String(r.node), state: '', address: r.address });
		}
	}
	const nodeList = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
	const drawn = chunks.slice(0, MAX_CELLS);
	const dense = drawn.length > 96;

	const out = [metaList(map, chunks.length)];
	if (!chunks.length) {
		out.push(h('div', { class: 'empty empty-small' }, h('p', { class: 'empty-title' }, 'No chunks'),
			h('p', { class: 'empty-hint' }, 'This file is empty, so nothing is stored on the nodes.')));
		return out;
	}
	out.push(summary(chunks.length, replication, under, lost));
	out.push(legend());

	const rows = [h('div', { class: 'cm-row cm-row-health' },
		h('div', { class: 'cm-label' }, h('span', { class: 'cm-node' }, 'Chunk health'),
			h('span', { class: 'cm-sub' }, `${formatCount(replication)} copies wanted`)),
		h('div', { class: 'cm-cells' }, drawn.map((c, i) => h('span', {
			class: `cm-cell cs-${health[i]}`, 'data-testid': 'chunkmap-chunk', 'data-chunk': c.index, 'data-state': health[i],
			title: `Chunk ${c.index} · ${CHUNK_LABEL[health[i]]} · ${formatBytes(c.size)}`,
		}))))];
	for (const node of nodeList) {
		const held = drawn.filter((c) => (c.replicas || []).some((r) => String(r.node) === node.id)).length;
		rows.push(h('div', { class: 'cm-row', 'data-testid': 'chunkmap-node', 'data-node': node.id, 'data-state': node.state || null },
			h('div', { class: 'cm-label' },
				h('span', { class: 'cm-node' }, node.id,
					node.state ? h('span', { class: `badge badge-sm badge-${node.state}` }, NODE_STATE_LABEL[node.state] || node.state) : null),
				h('span', { class: 'cm-sub' }, plural(held, 'chunk'))),
			h('div', { class: 'cm-cells' }, drawn.map((c) => {
				const r = (c.replicas || []).find((x) => String(x.node) === node.id);
				const state = r ? String(r.state) : 'none';
				return h('span', {
					class: `cm-cell rs-${state}`, 'data-testid': 'chunkmap-cell', 'data-node': node.id, 'data-chunk': c.index,
					'data-state': state, title: `Chunk ${c.index} on ${node.id}: ${REPLICA_LABEL[state] || state}`,
				});
			}))));
	}
	out.push(h('div', { class: `cm-grid${dense ? ' cm-dense' : ''}`, 'data-testid': 'chunkmap-grid', role: 'img',
		'aria-label': `Chunk map: ${plural(chunks.length, 'chunk')} across ${plural(nodeList.length, 'node')}; details in the chunk list below` },
	rows));
	if (chunks.length > drawn.length) {
		out.push(h('p', { class: 'muted' }, `Showing the first ${formatCount(drawn.length)} of ${formatCount(chunks.length)} chunks.`));
	}
	out.push(chunkTable(chunks, health, listOpen, setListOpen));
	return out;
}

function metaList(map, chunkCount) {
	const items = [
		['Size', `${formatBytes(map.size)}`],
		['Chunks', formatCount(chunkCount)],
		['Chunk size', formatBytes(map.chunk_size)],
		['Replication', `${formatCount(map.replication)} copies`],
		['Version', formatCount(map.version)],
		['Uploaded', formatFullDate(map.created_at)],
	];
	return h('div', { class: 'cm-meta' },
		h('dl', { class: 'meta' }, items.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))),
		map.sha256 ? h('div', { class: 'cm-hash' }, h('span', { class: 'cm-hash-label' }, 'SHA-256'),
			h('code', { 'data-testid': 'chunkmap-sha256' }, map.sha256)) : null);
}

function summary(total, replication, under, lost) {
	if (lost) {
		return h('div', { class: 'notice notice-bad', 'data-testid': 'chunkmap-summary' }, icon('alert', 16),
			h('span', { class: 'notice-text' }, `${plural(lost, 'chunk')} of ${formatCount(total)} lost: no live node holds a copy.` +
			(under ? ` ${formatCount(under)} more under-replicated.` : '')));
	}
	if (under) {
		return h('div', { class: 'notice notice-warn', 'data-testid': 'chunkmap-summary' }, icon('repair', 16),
			h('span', { class: 'notice-text' },
				`${plural(under, 'chunk')} of ${formatCount(total)} under-replicated: the cluster is copying ${under === 1 ? 'it' : 'them'} to other nodes.`));
	}
	return h('div', { class: 'notice notice-ok', 'data-testid': 'chunkmap-summary' }, icon('check', 16),
		h('span', { class: 'notice-text' }, total === 1 ? `The chunk has all ${formatCount(replication)} copies.`
			: `All ${formatCount(total)} chunks have ${formatCount(replication)} healthy copies.`));
}

function legend() {
	return h('ul', { class: 'legend', 'aria-label': 'Legend' },
		['ok', 'pending', 'suspect', 'dead', 'corrupt', 'none'].map((s) =>
			h('li', {}, h('span', { class: `cm-cell rs-${s}`, 'aria-hidden': 'true' }), REPLICA_LABEL[s])));
}

function chunkTable(chunks, health, open, setOpen) {
	const shown = chunks.slice(0, MAX_TABLE_ROWS);
	const details = h('details', { class: 'cm-list', open: open || null, ontoggle: () => setOpen(details.open) },
		h('summary', {}, `Chunk list (${formatCount(chunks.length)})`),
		h('div', { class: 'table-wrap' }, h('table', { class: 'cm-table' },
			h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Chunk id'),
				h('th', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Replicas'))),
			h('tbody', {}, shown.map((c, i) => h('tr', { 'data-chunk': c.index, 'data-state': health[i] },
				h('td', {}, formatCount(c.index)),
				h('td', {}, h('code', { title: c.id }, String(c.id || '').slice(0, 16) + (c.id && c.id.length > 16 ? '…' : ''))),
				h('td', {}, formatBytes(c.size)),
				h('td', {}, h('div', { class: 'replica-list' }, (c.replicas || []).length
					? c.replicas.map((r) => h('span', { class: `badge badge-sm badge-r-${r.state}`, title: `${r.address || ''} · ${REPLICA_LABEL[r.state] || r.state}` },
						`${r.node}: ${r.state}`))
					: h('span', { class: 'muted' }, 'none')))))))),
		chunks.length > shown.length ? h('p', { class: 'muted' }, `First ${formatCount(shown.length)} chunks shown.`) : null);
	return details;
}
