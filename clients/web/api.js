// The gateway's REST API and event stream as used by the web UI (DESIGN.md,
// "REST API"). Every fetch and XHR carries `Authorization: Bearer TOKEN` when a
// token is kept in sessionStorage; the event stream, which cannot send
// headers, gets it as ?access_token=. Any 401 calls the onUnauthorized hook.

const BASE = '/api/v1';
const TOKEN_KEY = 'pp.token';

/* Kinds the tracker publishes (proto/pp/v1/bus.proto, Event.kind) plus a few
 * the gateway may add; unnamed messages are caught as "message" too. Any of
 * them only means "something changed": the UI refetches state. */
export const EVENT_KINDS = [
	'node_state', 'file_committed', 'file_deleted', 'repair_progress', 'health',
	'chunk_corrupt', 'chunk_lost', 'repair_done', 'node_added', 'node_removed',
];

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
	}
}

let unauthorized = () => {};
export function onUnauthorized(fn) {
	unauthorized = fn;
}

export function getToken() {
	try {
		return sessionStorage.getItem(TOKEN_KEY) || '';
	} catch {
		return '';
	}
}

export function setToken(token) {
	try {
		if (token) sessionStorage.setItem(TOKEN_KEY, token);
		else sessionStorage.removeItem(TOKEN_KEY);
	} catch {
		/* storage disabled: the token lives only as long as this call chain */
	}
}

/* Names may hold any UTF-8 and "/"; each is percent-encoded as one segment. */
export function encodeName(name) {
	return encodeURIComponent(name);
}

export function fileUrl(name) {
	return `${BASE}/files/${encodeName(name)}`;
}

function authHeaders() {
	const token = getToken();
	return token ? { Authorization: `Bearer ${token}` } : {};
}

/* Build the error for a failed response from its {"error","code"} body, or
 * from the status line when the body is not JSON. */
function errorFrom(status, statusText, bodyText) {
	let message = '';
	let code = '';
	try {
		const body = JSON.parse(bodyText);
		message = typeof body.error === 'string' ? body.error : '';
		code = typeof body.code === 'string' ? body.code : '';
	} catch {
		/* not JSON */
	}
	if (!message) message = defaultMessage(status, statusText);
	const err = new ApiError(status, code || String(status), message);
	if (status === 401) unauthorized(err);
	return err;
}

function defaultMessage(status, statusText) {
	switch (status) {
	case 401: return 'Authentication required';
	case 403: return 'This token is not allowed to do that';
	case 404: return 'Not found';
	case 413: return 'File is larger than the gateway accepts';
	case 503: return 'Not enough storage nodes are up';
	default: return `Request failed (${status}${statusText ? ' ' + statusText : ''})`;
	}
}

async function request(method, path, { signal, body = false } = { }) {
	let res;
	try {
		res = await fetch(BASE + path, { method, headers: authHeaders(), signal, cache: 'no-store' });
	} catch (err) {
		if (err.name === 'AbortError') throw err;
		throw new ApiError(0, 'network', 'Cannot reach the gateway');
	}
	if (!res.ok) throw errorFrom(res.status, res.statusText, await res.text().catch(() => ''));
	if (!body || res.status === 204) return null;
	try {
		return await res.json();
	} catch {
		throw new ApiError(res.status, 'bad_json', 'The gateway sent a reply the UI cannot read');
	}
}

export function listFiles({ q = '', limit = 50, offset = 0, signal } = {}) {
	const params = new URLSearchParams();
	if (q) params.set('q', q);
	params.set('limit', String(limit));
	params.set('offset', String(offset));
	return request('GET', `/files?${params}`, { signal, body: true });
}

/* One folder (names starting with prefix, in name order): its files and
 * sub-folders up to the next "/", S3 buckets among the top-level folders.
 * after: the previous page's `next`. */
export function listFolder({ prefix = '', after = '', limit = 100, signal } = {}) {
	const params = new URLSearchParams();
	params.set('prefix', prefix);
	if (after) params.set('after', after);
	params.set('limit', String(limit));
	return request('GET', `/files?${params}`, { signal, body: true });
}

export const getChunkMap = (name, opts = {}) =>
	request('GET', `/chunkmap/${encodeName(name)}`, { ...opts, body: true });
export const getNodes = (opts = {}) => request('GET', '/nodes', { ...opts, body: true });
export const getHealth = (opts = {}) => request('GET', '/health', { ...opts, body: true });
export const deleteFile = (name) => request('DELETE', `/files/${encodeName(name)}`);

/* Download through fetch with the bearer header, for when a plain link
 * cannot carry the token. Resolves to a Blob. */
export async function fetchFileBlob(name) {
	let res;
	try {
		res = await fetch(fileUrl(name), { headers: authHeaders(), cache: 'no-store' });
	} catch {
		throw new ApiError(0, 'network', 'Cannot reach the gateway');
	}
	if (!res.ok) throw errorFrom(res.status, res.statusText, await res.text().catch(() => ''));
	return res.blob();
}

/* PUT the raw bytes of file under name with XMLHttpRequest so upload
 * progress can be shown. Returns {promise, abort}; the promise resolves to
 * the committed file's JSON. hooks: onProgress(loaded, total) while bytes
 * go out, onSent() once all bytes are out and the cluster is committing. */
export function uploadFile(file, name, hooks = {}) {
	const xhr = new XMLHttpRequest();
	const promise = new Promise((resolve, reject) => {
		xhr.open('PUT', fileUrl(name));
		const token = getToken();
		if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
		xhr.setRequestHeader('Content-Type', 'application/octet-stream');
		xhr.upload.onprogress = (e) => hooks.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
		xhr.upload.onload = () => hooks.onSent?.();
		xhr.onload = () => {
			if (xhr.status >= 200 && xhr.status < 300) {
				let body = null;
				try {
					body = JSON.parse(xhr.responseText);
				} catch {
					/* a 2xx without a body still means committed */
				}
				resolve(body);
			} else {
				reject(errorFrom(xhr.status, xhr.statusText, xhr.responseText));
			}
		};
		xhr.onerror = () => reject(new ApiError(0, 'network', 'Connection to the gateway was lost'));
		xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'The upload timed out'));
		xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
		xhr.send(file);
	});
	return { promise, abort: () => xhr.abort() };
}

/* Open the cluster event stream. handlers: onEvent(kind, data), onOpen(),
 * onError(closed) — closed is true when the browser gave up reconnecting
 * (the caller then opens a new stream after a pause). */
export function openEvents(handlers) {
	const token = getToken();
	const url = `${BASE}/events${token ? `?access_token=${encodeURIComponent(token)}` : ''}`;
	const source = new EventSource(url);
	const deliver = (kind) => (e) => {
		let data = null;
		try {
			data = e.data ? JSON.parse(e.data) : null;
		} catch {
			data = e.data;
		}
		handlers.onEvent?.(kind, data);
	};
	for (const kind of EVENT_KINDS) source.addEventListener(kind, deliver(kind));
	source.onmessage = deliver('message');
	source.onopen = () => handlers.onOpen?.();
	source.onerror = () => handlers.onError?.(source.readyState === EventSource.CLOSED);
	return source;
}
