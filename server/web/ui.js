// Small DOM helpers shared by the page's views.

/**
 * h creates an element: h('td', {class: 'num', dataset: {x: 1}}, 'text', child).
 * Attributes starting with "on" are event listeners; false and null are left out.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** $ returns the element with the id. */
export const $ = (id) => document.getElementById(id);

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const numFmt = new Intl.NumberFormat();

/** isZeroTime reports an absent or zero time. */
export function isZeroTime(t) {
  return !t || t.startsWith('0001-01-01');
}

/** time returns a <time> element for an RFC 3339 string, or a dash. */
export function time(t) {
  if (isZeroTime(t)) return h('span', { class: 'muted' }, '—');
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return h('span', null, t);
  return h('time', { datetime: t, title: t }, dateFmt.format(d));
}

/** fmtTime formats an RFC 3339 string or a Date as text. */
export function fmtTime(t) {
  if (!t) return '—';
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dateFmt.format(d);
}

/** num formats a count. */
export function num(n) {
  return typeof n === 'number' ? numFmt.format(n) : n === undefined || n === null ? '—' : String(n);
}

/** duration formats a Go time.Duration (nanoseconds). */
export function duration(ns) {
  if (typeof ns !== 'number') return '—';
  if (ns < 1e6) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(0)} ms`;
  return `${(ns / 1e9).toFixed(1)} s`;
}

/** badge returns a badge for a state or status; kind picks its colours. */
export function badge(text, kind) {
  const t = String(text || '—');
  return h('span', { class: `badge ${kind}-${t.replace(/\s+/g, '-').toLowerCase()}` }, t);
}

/** problemList renders a list of problems ({path, message, suggestion}). */
export function problemList(problems, onSuggestion) {
  return h(
    'ul',
    { class: 'problem-list' },
    problems.map((p) =>
      h(
        'li',
        { dataset: { path: p.path || '', code: p.code || '' } },
        p.path ? h('code', null, p.path) : null,
        p.path ? ': ' : null,
        p.message || p.detail || p.title || String(p),
        p.suggestion && onSuggestion
          ? [' ', h('button', { type: 'button', class: 'link suggestion', onclick: () => onSuggestion(p) }, `Use ${p.suggestion}`)]
          : p.suggestion
            ? ` (did you mean ${p.suggestion}?)`
            : null,
      ),
    ),
  );
}

/** problemBox renders an error (ProblemError or Error) with its problems. */
export function problemBox(err) {
  const doc = err && err.doc ? err.doc : { title: String((err && err.message) || err) };
  return h(
    'div',
    { class: 'problem', dataset: { code: doc.code || '' } },
    h('strong', null, doc.title || 'Error'),
    doc.detail && doc.detail !== doc.title ? h('p', null, doc.detail) : null,
    Array.isArray(doc.problems) && doc.problems.length ? problemList(doc.problems) : null,
  );
}

/** showError shows err in the page's alert box; null hides it. */
export function showError(err) {
  const box = $('error-box');
  box.replaceChildren();
  if (!err) {
    box.hidden = true;
    return;
  }
  box.append(problemBox(err), h('button', { type: 'button', class: 'link', onclick: () => showError(null) }, 'Dismiss'));
  box.hidden = false;
}

/** say writes a message into the page's status line. */
export function say(text) {
  $('status-msg').textContent = text;
}

/** confirmDialog asks a question; it resolves true for OK. */
export function confirmDialog(text, okLabel = 'OK') {
  const dlg = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

/** debounce returns fn delayed until ms have passed without a call. */
export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** pick returns the first defined property among names (lowerCamel or Go's). */
export function pick(o, ...names) {
  if (!o) return undefined;
  for (const n of names) if (o[n] !== undefined) return o[n];
  return undefined;
}
