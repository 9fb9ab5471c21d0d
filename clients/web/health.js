// The cluster health banner (DESIGN.md, "JSON shapes": health). Green when
// every chunk has its replicas, amber while chunks are under-replicated and
// being repaired, red when chunks are lost, no node is up or the gateway
// cannot be reached. Fields beyond the fixed ones are shown when present.

import { h } from './dom.js';
import * as api from './api.js';
import { formatBytes, formatCount, formatDuration, plural } from './format.js';

export function createHealthBanner() {
	const root = document.getElementById('health');
	const title = root.querySelector('[data-testid="health-title"]');
	const detail = root.querySelector('[data-testid="health-detail"]');
	const stats = root.querySelector('[data-testid="health-stats"]');
	let last = null;

	function render(health, error) {
		const view = error ? errorView(error, last) : describe(health);
		/* Touch the live region only on change, so screen readers announce
		 * a new state once, not every poll. */
		root.dataset.level = view.level;
		if (title.textContent !== view.title) title.textContent = view.title;
		if (detail.textContent !== view.detail) detail.textContent = view.detail;
		detail.hidden = !view.detail;
		const shown = error ? last : health;
		stats.replaceChildren(...(shown ? statItems(shown) : []));
	}

	return {
		/* Fetch and render; resolves to the health object (null on error). */
		async refresh() {
			try {
				const health = await api.getHealth();
				last = health;
				render(health, null);
				return health;
			} catch (err) {
				render(null, err);
				return null;
			}
		},
		get last() {
			return last;
		},
	};
}

function num(v) {
	const n = Number(v);
	return Number.isFinite(n) ? n : 0;
}

/* The banner's level, headline and detail for a health object. */
export function describe(hl) {
	const up = num(hl.nodes_up);
	const down = num(hl.nodes_down);
	const under = num(hl.under_replicated);
	const lost = num(hl.lost);
	const flight = num(hl.repairs_in_flight);
	const repair = repairTail(hl);
	if (up === 0) {
		return {
			level: 'bad',
			title: 'No storage nodes are up',
			detail: down ? `${plural(down, 'node')} down. Uploads and downloads are unavailable until a node returns.`
				: 'Uploads and downloads are unavailable until a worker joins the cluster.',
		};
	}
	if (lost > 0) {
		return {
			level: 'bad',
			title: `Data at risk: ${plural(lost, 'chunk')} with no live replica`,
			detail: [under > lost ? `Repairing: ${formatCount(under)} chunks under-replicated, ${formatCount(flight)} in flight` : '',
				'Files holding lost chunks cannot be read until a node that has them comes back.', repair]
				.filter(Boolean).join(' · '),
		};
	}
	if (under > 0) {
		return {
			level: 'warn',
			title: `Repairing: ${formatCount(under)} ${under === 1 ? 'chunk' : 'chunks'} under-replicated, ${formatCount(flight)} in flight`,
			detail: [down ? `${plural(down, 'node')} down` : '', 'Files stay readable while copies are rebuilt.', repair]
				.filter(Boolean).join(' · '),
		};
	}
	return {
		level: 'ok',
		title: 'Healthy: every chunk is fully replicated',
		detail: [down ? `${plural(down, 'node')} down, no data affected` : '',
			flight ? `Rebalancing: ${formatCount(flight)} transfers in flight` : ''].filter(Boolean).join(' · '),
	};
}

function repairTail(hl) {
	const parts = [];
	if (num(hl.repair_bytes_left) > 0) parts.push(`${formatBytes(hl.repair_bytes_left)} left to copy`);
	if (num(hl.repair_rate_bps) > 0) parts.push(`${formatBytes(hl.repair_rate_bps)}/s`);
	if (num(hl.repair_eta_s) > 0) parts.push(`about ${formatDuration(hl.repair_eta_s)} to go`);
	return parts.join(', ');
}

function errorView(err, last) {
	if (err.status === 401) {
		return { level: 'unknown', title: 'Sign in to see cluster health', detail: '' };
	}
	return {
		level: 'bad',
		title: err.status === 0 ? 'Cannot reach the gateway' : 'Cluster health is unavailable',
		detail: `${err.status === 0 ? '' : `${err.message}. `}${last ? 'Showing the last known figures; r' : 'R'}etrying every few seconds.`,
	};
}

/* Figures handled by name below; cumulative counters stay out of the banner. */
const KNOWN = new Set(['nodes_up', 'nodes_down', 'files', 'chunks', 'under_replicated', 'lost',
	'repairs_in_flight', 'bytes_stored', 'repairs_queued', 'repair_bytes_left', 'repair_eta_s',
	'repair_rate_bps', 'repairs_done', 'repair_bytes_done']);

function has(hl, key) {
	return hl[key] !== undefined && hl[key] !== null;
}

function statItems(hl) {
	const repairing = num(hl.under_replicated) > 0 || num(hl.repairs_in_flight) > 0 || num(hl.repairs_queued) > 0;
	const items = [
		['Nodes', `${formatCount(num(hl.nodes_up))} up · ${formatCount(num(hl.nodes_down))} down`, 'nodes', num(hl.nodes_down) > 0],
	];
	if (has(hl, 'files')) items.push(['Files', formatCount(hl.files), 'files']);
	items.push(
		['Chunks', formatCount(hl.chunks), 'chunks'],
		['Stored', formatBytes(hl.bytes_stored), 'bytes_stored'],
		['Under-replicated', formatCount(num(hl.under_replicated)), 'under_replicated', num(hl.under_replicated) > 0],
		['Lost', formatCount(num(hl.lost)), 'lost', num(hl.lost) > 0],
		['Repairs in flight', formatCount(num(hl.repairs_in_flight)), 'repairs_in_flight'],
	);
	/* Progress figures only while there is something to repair. */
	if (repairing) {
		if (has(hl, 'repairs_queued')) items.push(['Queued', formatCount(hl.repairs_queued), 'repairs_queued']);
		if (has(hl, 'repair_bytes_left')) items.push(['Left to copy', formatBytes(hl.repair_bytes_left), 'repair_bytes_left']);
		if (num(hl.repair_rate_bps) > 0) items.push(['Repair rate', `${formatBytes(hl.repair_rate_bps)}/s`, 'repair_rate_bps']);
		if (num(hl.repair_eta_s) > 0) items.push(['Repair ETA', formatDuration(hl.repair_eta_s), 'repair_eta_s']);
	}
	/* Any other figure the gateway adds, labelled from its name. */
	for (const [key, value] of Object.entries(hl)) {
		if (KNOWN.has(key) || typeof value !== 'number') continue;
		const label = key.replace(/_/g, ' ').replace(/ (bps|s|ms)$/, '').replace(/^./, (c) => c.toUpperCase());
		const text = /_bps$/.test(key) ? `${formatBytes(value)}/s` : /bytes/.test(key) ? formatBytes(value)
			: /_s$/.test(key) ? formatDuration(value) : formatCount(value);
		items.push([label, text, key]);
	}
	return items.map(([label, value, key, alert]) =>
		h('div', { class: `stat${alert ? ' stat-alert' : ''}`, 'data-stat': key },
			h('dt', {}, label), h('dd', {}, value)));
}
