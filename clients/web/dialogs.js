// Modal dialogs and toasts shared by the views: a delete confirmation, the
// access-token prompt shown on any 401, and short notices. Dialogs are native
// <dialog> elements, so Esc closes them and focus stays inside while open.

import { h, icon } from './dom.js';
import * as api from './api.js';

/* Ask before a destructive action. Resolves true only on the confirm button. */
export function confirmDialog({ title, text, confirmLabel = 'Delete' }) {
	const dialog = document.getElementById('confirm-dialog');
	dialog.querySelector('.dialog-title').textContent = title;
	dialog.querySelector('[data-testid="confirm-text"]').textContent = text;
	dialog.querySelector('[data-testid="confirm-delete"]').textContent = confirmLabel;
	dialog.returnValue = '';
	return new Promise((resolve) => {
		dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
		dialog.showModal();
		dialog.querySelector('[data-testid="confirm-cancel"]').focus();
	});
}

/* The token prompt: opened by a 401, at most one at a time. Once the user
 * cancels it, later 401s (the 5 s polling) only show the "Sign in" button
 * until it is clicked. onToken runs after a new token is stored. */
export function createTokenPrompt({ onToken }) {
	const dialog = document.getElementById('token-dialog');
	const input = document.getElementById('token-input');
	const text = dialog.querySelector('[data-testid="token-text"]');
	const forget = document.getElementById('token-forget');
	const signIn = document.getElementById('token-open');
	let refused = false;   /* the last call got a 401 */
	let dismissed = false; /* the user cancelled the prompt */

	function syncForget() {
		forget.hidden = !api.getToken() || refused;
		signIn.hidden = !refused;
	}
	signIn.addEventListener('click', () => open({ explicit: true }));
	forget.addEventListener('click', () => {
		api.setToken('');
		syncForget();
		toast('Token forgotten for this tab');
		onToken();
	});
	dialog.addEventListener('close', () => {
		const token = input.value.trim();
		input.value = '';
		if (dialog.returnValue === 'ok' && token) {
			api.setToken(token);
			refused = false;
			dismissed = false;
			syncForget();
			onToken();
		} else {
			dismissed = true;
		}
	});
	syncForget();

	function open({ explicit = false } = {}) {
		refused = true;
		syncForget();
		if (dialog.open || (dismissed && !explicit)) return;
		text.textContent = api.getToken()
			? 'The saved access token was not accepted. Enter a valid token to continue.'
			: 'This gateway needs an access token. Ask your cluster operator for one.';
		dialog.returnValue = '';
		dialog.showModal();
		input.focus();
	}
	return { open };
}

/* A short notice in the corner; kind is "ok", "bad" or "" (neutral). */
export function toast(message, kind = '', ms = 4500) {
	const box = document.querySelector('[data-testid="toasts"]');
	const item = h('div', { class: `toast ${kind ? 'toast-' + kind : ''}`, 'data-testid': 'toast', 'data-kind': kind || 'info' },
		icon(kind === 'bad' ? 'alert' : 'check', 16), h('span', {}, message));
	box.append(item);
	setTimeout(() => {
		item.classList.add('toast-leaving');
		setTimeout(() => item.remove(), 250);
	}, ms);
}
