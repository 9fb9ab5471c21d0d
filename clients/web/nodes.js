// The nodes view (DESIGN.md, "JSON shapes": node): one row per worker with
// its state badge, capacity bar and chunk count. Rows are reconciled by node
// id on every refresh so the list never flickers while it updates live.

import { h, reconcile } from './dom.js';
import * as api from './api.js';
import { formatAge, formatBytes, heartbeatAge, plural } from './format.js';

export const NODE_STATE_LABEL = {
	up: 'Up', suspect: 'Suspect', dead: 'Dead', draining: 'Draining', maintenance: 'Maintenance',
};

export function createNodesView() {
	const list = document.querySelector('[data-testid="node-list"]');
	const empty = document.querySelector('[data-testid="nodes-empty"]');
	const count = document.querySelector('[data-testid="node-count"]');
	const errorBox = document.querySelector('[data-testid="nodes-error"]');
	let nodes = [];
	let loaded = false;

	function render() {
		const now = Date.now();
		const sorted = [...nodes].sort((a, b) => String(a.id).localeCompare(String(b.id), undefined, { numeric: true }));
		reconcile(list, sorted, (n) => String(n.id),
			(n) => JSON.stringify(n) + formatAge(heartbeatAge(n.last_heartbeat_ms, now)),
			(n) => nodeRow(n, now));
		empty.hidden = !loaded || nodes.length > 0;
		const up = nodes.filter((n) => n.state === 'up').length;
		count.textContent = loaded ? `${up} of ${plural(nodes.length, 'node')} up` : '';
	}

	return {
		async refresh() {
			try {
				const body = await api.getNodes();
				nodes = Array.isArray(body?.nodes) ? body.nodes : [];
				loaded = true;
				errorBox.hidden = true;
			} catch (err) {
				errorBox.hidden = false;
				errorBox.querySelector('.notice-text').textContent = loaded
					? `Showing the last known nodes: ${err.message}` : `Could not load nodes: ${err.message}`;
			}
			render();
			return nodes;
		},
		get nodes() {
			return nodes;
		},
	};
}

function nodeRow(n, now) {
	const state = String(n.state || 'unknown');
	const capacity = Number(n.capacity) || 0;
	const used = Number(n.used) || 0;
	const pct = capacity > 0 ? Math.min(100, (used / capacity) * 100) : 0;
	const fill = pct >= 90 ? 'bad' : pct >= 75 ? 'warn' : 'ok';
	const age = heartbeatAge(n.last_heartbeat_ms, now);
	return h('li', { class: `node-row node-${state}`, 'data-testid': 'node-row', 'data-node-id': n.id, 'data-state': state },
		h('div', { class: 'node-top' },
			h('span', { class: 'node-icon', 'aria-hidden': 'true' }),
			h('div', { class: 'node-ident' },
				h('span', { class: 'node-id', 'data-testid': 'node-id' }, n.id),
				h('span', { class: 'node-addr' }, n.address ? h('code', { 'data-testid': 'node-address' }, n.address) : null,
					n.zone ? h('span', { class: 'node-zone' }, `zone ${n.zone}`) : null)),
			h('span', { class: `badge badge-${state}`, 'data-testid': 'node-state', 'data-state': state },
				NODE_STATE_LABEL[state] || state)),
		capacity > 0
			? h('div', { class: 'capacity', 'data-testid': 'node-capacity' },
				h('div', { class: `bar bar-${fill}`, role: 'meter', 'aria-label': `Disk used on ${n.id}`,
					'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct.toFixed(0) },
				h('span', { style: { width: `${pct.toFixed(1)}%` } })),
				h('div', { class: 'capacity-text' },
					h('span', {}, `${formatBytes(used)} of ${formatBytes(capacity)}`),
					h('span', {}, `${pct < 1 && used > 0 ? '<1' : pct.toFixed(0)}%`)))
			: h('div', { class: 'capacity capacity-none', 'data-testid': 'node-capacity' },
				`${formatBytes(used)} used · no capacity limit`),
		nodeNotes(n, state),
		h('div', { class: 'node-meta' },
			h('span', { 'data-testid': 'node-chunks' }, plural(n.chunks ?? 0, 'chunk')),
			h('span', { class: state !== 'up' && (age === null || age > 2000) ? 'muted-strong' : '', title: 'Last heartbeat' },
				`heartbeat ${formatAge(age)}`)));
}

/* Extra facts the gateway may add to a node: disk full, drain progress,
 * transfers in flight. */
function nodeNotes(n, state) {
	const notes = [];
	if (n.disk_full === true) notes.push(h('span', { class: 'node-note note-bad' }, 'Disk full'));
	if (state === 'draining' && Number(n.drain_chunks_left) > 0) {
		notes.push(h('span', { class: 'node-note note-info' },
			`Draining: ${plural(n.drain_chunks_left, 'chunk')}${Number(n.drain_bytes_left) > 0 ? ` (${formatBytes(n.drain_bytes_left)})` : ''} left`));
	}
	if (state === 'draining' && Number(n.drain_chunks_left) === 0) {
		notes.push(h('span', { class: 'node-note note-ok' }, 'Drained: safe to remove'));
	}
	if (Number(n.inflight) > 0) notes.push(h('span', { class: 'node-note note-info' }, `${plural(n.inflight, 'transfer')} in flight`));
	return notes.length ? h('div', { class: 'node-notes', 'data-testid': 'node-notes' }, notes) : null;
}
