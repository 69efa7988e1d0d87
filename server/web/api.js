// The service's JSON API: one fetch wrapper that sends the CSRF token on
// every change and turns problem documents (RFC 9457) into ProblemError.

let csrfToken = '';

/** setCSRF sets the token sent as X-CSRF-Token on every change. */
export function setCSRF(token) {
  csrfToken = token || '';
}

/** ProblemError is a failed request: status and the problem document. */
export class ProblemError extends Error {
  constructor(status, doc) {
    const d = doc && typeof doc === 'object' ? doc : { title: String(doc || 'Request failed') };
    super(d.detail || d.title || `HTTP ${status}`);
    this.status = status;
    this.doc = d;
    this.title = d.title || `HTTP ${status}`;
    this.detail = d.detail || '';
    this.code = d.code || '';
    this.problems = Array.isArray(d.problems) ? d.problems : [];
  }
}

const listeners = new Set();

/** onUnauthorized registers fn, called when a request answers 401. */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

/**
 * api sends one request and returns the decoded JSON body (null for 204).
 * body, when given, is sent as JSON. Errors are ProblemError.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ProblemError(0, { title: 'The service did not answer', detail: String(err.message || err) });
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  } else {
    data = await res.text();
  }
  if (!res.ok) {
    const err = new ProblemError(res.status, data && typeof data === 'object' ? data : { title: res.statusText || `HTTP ${res.status}`, detail: typeof data === 'string' ? data.slice(0, 500) : '' });
    if (res.status === 401 && !opts.quiet401) listeners.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** seg returns the API path of a segment, with name escaped. */
export function seg(name, rest = '') {
  return `/api/segments/${encodeURIComponent(name)}${rest}`;
}

/** query builds "?a=1&b=2" from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const doneStatuses = new Set(['successful', 'succeeded', 'failed', 'skipped', 'cancelled', 'canceled']);

/** isDone reports whether a job or export status is final. */
export function isDone(status) {
  return doneStatuses.has(String(status || '').toLowerCase());
}

/**
 * waitJob polls path (a job or export job) until its status is final and
 * returns it; onUpdate sees every state. It gives up after timeoutMs.
 */
export async function waitJob(path, onUpdate, timeoutMs = 120000) {
  const start = Date.now();
  let delay = 150;
  for (;;) {
    const job = await get(path);
    if (onUpdate) onUpdate(job);
    if (isDone(job.status)) return job;
    if (Date.now() - start > timeoutMs) throw new ProblemError(0, { title: 'Still running', detail: `${path} has not finished after ${Math.round(timeoutMs / 1000)} s` });
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}
