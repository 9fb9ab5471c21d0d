// Small DOM helpers for the web UI: an element builder, inline icons and a
// keyed list reconciler. Text always goes in through textContent, never
// innerHTML, so file and node names from the cluster cannot inject markup.

/* h('button', {class: 'btn', onclick: fn, 'data-testid': 'x'}, 'Label', child...)
 * Attribute values: false/null/undefined skip the attribute, true sets it
 * empty; keys starting with "on" attach listeners. */
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [key, value] of Object.entries(attrs || {})) {
		if (value === false || value === null || value === undefined) continue;
		if (key.startsWith('on') && typeof value === 'function') {
			el.addEventListener(key.slice(2), value);
		} else if (key === 'style' && typeof value === 'object') {
			Object.assign(el.style, value);
		} else {
			el.setAttribute(key, value === true ? '' : String(value));
		}
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const child of children) {
		if (child === null || child === undefined || child === false) continue;
		if (Array.isArray(child)) append(el, child);
		else el.append(child instanceof Node ? child : String(child));
	}
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
	download: 'M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19.5h14',
	trash: 'M4.5 7h15M9.5 7V4.5h5V7M6.5 7l1 12.5h9l1-12.5M10 11v5M14 11v5',
	grid: 'M4.5 4.5h6v6h-6zM13.5 4.5h6v6h-6zM4.5 13.5h6v6h-6zM13.5 13.5h6v6h-6z',
	x: 'M6.5 6.5l11 11M17.5 6.5l-11 11',
	upload: 'M12 16V5m0 0L7.5 9.5M12 5l4.5 4.5M5 19.5h14',
	search: 'M10.5 4.5a6 6 0 1 0 0 12a6 6 0 1 0 0-12zM15 15l4.5 4.5',
	check: 'M5 12.5l4.5 4.5L19 7.5',
	alert: 'M12 3.5L2.5 20h19L12 3.5zM12 10v4.5M12 17.2v.3',
	repair: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3M19.5 4.5v5h-5',
	server: 'M4.5 4.5h15v6h-15zM4.5 13.5h15v6h-15zM8 7.5h.01M8 16.5h.01',
	key: 'M14.5 4.5a5 5 0 1 0 0 10a5 5 0 1 0 0-10zM11 13l-6.5 6.5M7 17l2 2',
	file: 'M6.5 3.5h7l4.5 4.5v12.5h-11.5zM13.5 3.5V8H18',
	folder: 'M3.5 6.5v12h17v-10h-8.5l-2-2.5h-6.5z',
	bucket: 'M4.5 6.5h15l-1.5 13h-12zM4.5 6.5a7.5 2 0 0 1 15 0',
	retry: 'M4.5 12a7.5 7.5 0 1 0 2.2-5.3M4.5 4.5v5h5',
};

/* An inline stroke icon, hidden from assistive technology (the control that
 * holds it carries the label). */
export function icon(name, size = 18) {
	const svg = document.createElementNS(SVG_NS, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('width', size);
	svg.setAttribute('height', size);
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.classList.add('icon');
	const path = document.createElementNS(SVG_NS, 'path');
	path.setAttribute('d', ICONS[name] || '');
	svg.append(path);
	return svg;
}

/* Make parent's children match items in order, reusing the element of an
 * item whose key and signature did not change, so focus and hover survive
 * the periodic refreshes. parent must hold only reconciled children. */
export function reconcile(parent, items, keyOf, signatureOf, render) {
	const old = new Map();
	for (const el of parent.children) old.set(el._key, el);
	items.forEach((item, i) => {
		const key = keyOf(item);
		const sig = signatureOf(item);
		let el = old.get(key);
		old.delete(key);
		if (!el || el._sig !== sig) {
			const fresh = render(item);
			fresh._key = key;
			fresh._sig = sig;
			if (el) el.replaceWith(fresh);
			el = fresh;
		}
		const at = parent.children[i];
		if (at !== el) parent.insertBefore(el, at || null);
	});
	for (const el of old.values()) el.remove();
}

/* Call fn at most once per wait ms after the last call. */
export function debounce(fn, wait) {
	let timer = 0;
	return (...args) => {
		clearTimeout(timer);
		timer = setTimeout(() => fn(...args), wait);
	};
}

/* Wrap an async fn so that calls while it runs collapse into one more run
 * after it finishes: bursts of events cost at most two fetches. */
export function coalesce(fn, delay = 100) {
	let running = false;
	let again = false;
	let timer = 0;
	async function run() {
		timer = 0;
		running = true;
		try {
			await fn();
		} catch (err) {
			console.warn(err);
		} finally {
			running = false;
			if (again) {
				again = false;
				schedule();
			}
		}
	}
	function schedule() {
		if (running) again = true;
		else if (!timer) timer = setTimeout(run, delay);
	}
	return schedule;
}
