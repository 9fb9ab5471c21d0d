// Entry point of the web UI: builds the views and keeps them live. Any event
// on the stream (and its reconnect, and a 5 s fallback timer) refetches nodes
// and health; file events also refetch the file list. Events are only hints
// (the tracker's pub/sub may drop them, STACK.md gotcha 6): state always comes
// from the REST API, never from the event payload.

import { coalesce } from './dom.js';
import * as api from './api.js';
import { createTokenPrompt } from './dialogs.js';
import { createHealthBanner } from './health.js';
import { createNodesView } from './nodes.js';
import { createFilesView } from './files.js';
import { createUploader } from './upload.js';
import { createChunkMap } from './chunkmap.js';

const POLL_MS = 5000;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 15000;

const health = createHealthBanner();
const nodes = createNodesView();
const chunkmap = createChunkMap({ getNodes: () => nodes.nodes });
const files = createFilesView({
	openChunkMap: (name) => chunkmap.open(name),
	changed: () => refreshCluster(),
});
createUploader({
	folder: () => files.folder,
	committed: () => {
		refreshFiles();
		refreshCluster();
	},
});

const lastUpdated = document.querySelector('[data-testid="last-updated"]');
let healthSig = '';

/* Nodes, health and an open chunk map; the file list too when the cluster's
 * health figures moved, since each row shows its file's replica health. */
const refreshCluster = coalesce(async () => {
	const [, hl] = await Promise.all([nodes.refresh(), health.refresh(), chunkmap.refresh()]);
	if (hl) {
		const sig = [hl.nodes_up, hl.nodes_down, hl.under_replicated, hl.lost].join('/');
		if (healthSig && sig !== healthSig) refreshFiles();
		healthSig = sig;
		lastUpdated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
	}
}, 60);
const refreshFiles = coalesce(() => files.refresh(), 60);

function refreshAll() {
	refreshCluster();
	refreshFiles();
}

/* The event stream, reopened with backoff when the browser gives up on it
 * (for instance after a 401 or a gateway restart). */
const live = (() => {
	const badge = document.querySelector('[data-testid="live-status"]');
	const text = badge.querySelector('.live-text');
	let source = null;
	let retryMs = RECONNECT_MIN_MS;
	let timer = 0;

	function setState(state, label) {
		badge.dataset.state = state;
		text.textContent = label;
		badge.title = state === 'live' ? 'Receiving live cluster events' : 'Live updates paused; polling every 5 s';
	}

	function connect() {
		clearTimeout(timer);
		if (source) source.close();
		setState('connecting', 'Connecting…');
		source = api.openEvents({
			onOpen() {
				retryMs = RECONNECT_MIN_MS;
				setState('live', 'Live');
				refreshAll();
			},
			onEvent(kind) {
				refreshCluster();
				if (kind.startsWith('file_') || kind === 'message') refreshFiles();
			},
			onError(closed) {
				setState('offline', closed ? 'Offline' : 'Reconnecting…');
				if (closed) {
					source.close();
					source = null;
					timer = setTimeout(connect, retryMs);
					retryMs = Math.min(RECONNECT_MAX_MS, retryMs * 2);
				}
			},
		});
	}
	return { connect };
})();

const tokenPrompt = createTokenPrompt({
	onToken() {
		refreshAll();
		live.connect();
	},
});
api.onUnauthorized(() => tokenPrompt.open());

refreshAll();
live.connect();
setInterval(() => {
	if (!document.hidden) refreshCluster();
}, POLL_MS);
document.addEventListener('visibilitychange', () => {
	if (!document.hidden) refreshAll();
});
