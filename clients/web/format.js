// Human-readable sizes, counts, dates and durations for the web UI. Sizes
// are binary (KiB, MiB) as the cluster's chunk size is; dates come in as
// RFC 3339 (DESIGN.md, "JSON shapes") and are shown in the browser's zone.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const numberFmt = new Intl.NumberFormat();
const dateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatBytes(n) {
	const v0 = Number(n);
	if (n === null || n === undefined || !Number.isFinite(v0)) return '—';
	let v = v0;
	let i = 0;
	while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
		v /= 1024;
		i++;
	}
	if (i === 0) return `${v} B`;
	let text = v < 10 ? v.toFixed(1) : v.toFixed(0);
	if (text === '1024' && i < UNITS.length - 1) {
		text = '1.0';
		i++;
	}
	return `${text} ${UNITS[i]}`;
}

export function formatCount(n) {
	const v = Number(n);
	return Number.isFinite(v) ? numberFmt.format(v) : '—';
}

export function plural(n, one, many = one + 's') {
	return `${formatCount(n)} ${Number(n) === 1 ? one : many}`;
}

/* "just now", "5 min ago", "3 h ago", else a short date. */
export function formatDate(iso, now = Date.now()) {
	const t = Date.parse(iso);
	if (!Number.isFinite(t)) return iso ? String(iso) : '—';
	const s = Math.round((now - t) / 1000);
	if (s < 45 && s > -60) return 'just now';
	if (s > 0 && s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
	if (s > 0 && s < 86400) return `${Math.round(s / 3600)} h ago`;
	return dateFmt.format(t);
}

export function formatFullDate(iso) {
	const t = Date.parse(iso);
	return Number.isFinite(t) ? fullFmt.format(t) : String(iso ?? '');
}

/* Seconds as "45 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds) {
	let s = Math.max(0, Math.round(Number(seconds) || 0));
	if (s < 60) return `${s} s`;
	const h = Math.floor(s / 3600);
	s -= h * 3600;
	const m = Math.floor(s / 60);
	s -= m * 60;
	if (h) return m ? `${h} h ${m} min` : `${h} h`;
	return s ? `${m} min ${s} s` : `${m} min`;
}

/* A node's last_heartbeat_ms may be a Unix time in ms or an age in ms;
 * values past 2001 in Unix ms are taken as timestamps. Returns age in ms. */
export function heartbeatAge(value, now = Date.now()) {
	const v = Number(value);
	if (!Number.isFinite(v) || v < 0) return null;
	return v > 1e12 ? Math.max(0, now - v) : v;
}

export function formatAge(ms) {
	if (ms === null || ms === undefined) return '—';
	if (ms < 1500) return 'just now';
	if (ms < 60000) return `${Math.round(ms / 1000)} s ago`;
	return `${formatDuration(ms / 1000)} ago`;
}

/* The last path segment of a name, for the download attribute. */
export function baseName(name) {
	const parts = String(name).split('/').filter(Boolean);
	return parts.length ? parts[parts.length - 1] : 'download';
}
