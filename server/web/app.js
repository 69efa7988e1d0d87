// The Segments page: session, routing, the segments list and a segment's
// details. The builder and the quick segment dialog have modules of their own.

import { get, post, put, del, seg, query, setCSRF, onUnauthorized, waitJob, ProblemError } from './api.js';
import { $, h, time, num, badge, duration, problemBox, problemList, showError, say, confirmDialog, debounce, fmtTime } from './ui.js';
import { renderTrend, destroyTrend } from './trend.js';
import { openBuilder, leaveBuilder } from './builder.js';
import { openQuick } from './quick.js';
import { loadInspection, setExplained, openOverlap, setApart } from './analyses.js';
import { loadSplit, loadPriorityLists } from './splits.js';

const roles = { viewer: 0, editor: 1, admin: 2 };

/** app is the page's shared state. */
export const app = {
  session: null,
  data: null,
  /** can reports whether the session's role is at least role. */
  can(role) {
    return this.session && (roles[this.session.role] ?? -1) >= roles[role];
  },
  /** schemaData returns /api/data, fetched once. */
  async schemaData() {
    if (!this.data) this.data = await get('/api/data');
    return this.data;
  },
};

// ---- session ---------------------------------------------------------------

async function startSession() {
  try {
    const s = await get('/api/session', { quiet401: true });
    if (!s.session && !s.tokensRequired) {
      // A loopback call without a session: make one, so that the page
      // works with the cookie and its CSRF token like a signed-in one.
      return signedIn(await post('/api/session', {}, { quiet401: true }));
    }
    return signedIn(s);
  } catch (err) {
    if (!(err instanceof ProblemError) || err.status !== 401) {
      showError(err);
      return false;
    }
    if (err.doc.tokensRequired !== true) {
      try {
        const s = await post('/api/session', {}, { quiet401: true });
        return signedIn(s);
      } catch {
        // Not on loopback, or tokens are required: ask for one.
      }
    }
    showView('login');
    $('login-token').focus();
    return false;
  }
}

function signedIn(s) {
  app.session = s;
  setCSRF(s.csrfToken);
  $('session-name').textContent = s.name || '';
  $('session-role').textContent = s.role || '';
  $('session-info').hidden = false;
  applyRole();
  return true;
}

function applyRole() {
  for (const el of document.querySelectorAll('[data-needs]')) {
    el.hidden = !app.can(el.dataset.needs);
  }
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  try {
    const s = await post('/api/session', { token: $('login-token').value.trim() }, { quiet401: true });
    $('login-token').value = '';
    signedIn(s);
    route();
  } catch (err) {
    showError(err);
  }
});

$('sign-out').addEventListener('click', async () => {
  try {
    await del('/api/session');
  } catch (err) {
    showError(err);
  }
  app.session = null;
  setCSRF('');
  $('session-info').hidden = true;
  showView('login');
});

onUnauthorized(() => {
  app.session = null;
  $('session-info').hidden = true;
  showView('login');
});

// ---- routing ---------------------------------------------------------------

const views = ['login', 'list', 'details', 'builder'];

function showView(name) {
  for (const v of views) $(`view-${v}`).hidden = v !== name;
  document.body.dataset.view = name;
}

/** go navigates to a hash route. */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!app.session) return;
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  showError(null);
  destroyTrend();
  leaveBuilder();
  let m;
  if ((m = hash.match(/^\/segments\/(.+)$/))) {
    showView('details');
    await loadDetails(m[1]);
  } else if (hash === '/new') {
    showView('builder');
    await openBuilder(null);
  } else if ((m = hash.match(/^\/edit\/(.+)$/))) {
    showView('builder');
    await openBuilder(m[1]);
  } else {
    showView('list');
    await loadList();
  }
}

window.addEventListener('hashchange', route);

// ---- jobs ------------------------------------------------------------------

/** runJob waits for a refresh job and says how it went. */
export async function runJob(job, what) {
  say(`${what}: job ${job.id} ${job.status}…`);
  const done = await waitJob(`/api/jobs/${job.id}`, (j) => say(`${what}: job ${j.id} ${j.status}…`));
  const errors = [...(done.errors || []), ...(done.tasks || []).flatMap((t) => (t.errors || []).map((e) => `${t.segment}: ${e}`))];
  say(`${what}: job ${done.id} ${done.status}.`);
  if (errors.length) showError(new ProblemError(0, { title: `Job ${done.id} ${done.status}`, detail: errors.join('\n') }));
  return done;
}

// ---- segments list ---------------------------------------------------------

const list = { sort: 'name', desc: false, search: '', offset: 0, limit: 25, total: 0, selected: new Set(), rows: [] };

async function loadList() {
  try {
    const [res] = await Promise.all([
      get(`/api/segments${query({ sort: list.sort, desc: list.desc, search: list.search, offset: list.offset, limit: list.limit })}`),
      loadDataInfo(),
      loadPriorityLists(),
    ]);
    list.rows = res.segments || [];
    list.total = res.total ?? list.rows.length;
    renderList();
  } catch (err) {
    showError(err);
  }
}

async function loadDataInfo() {
  try {
    const d = await app.schemaData();
    $('data-info').textContent = `Data: ${d.source || '—'} · ${num(d.customers)} customers${d.loaded ? ` · loaded ${fmtTime(d.loaded)}` : ''}`;
  } catch (err) {
    $('data-info').textContent = `Data: not available (${err.message})`;
  }
}

function renderList() {
  for (const th of document.querySelectorAll('#segments-table th[data-sort]')) {
    const active = th.dataset.sort === list.sort;
    if (active) th.setAttribute('aria-sort', list.desc ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
  const body = $('segments-body');
  body.replaceChildren(
    ...list.rows.map((s) => {
      const label = s.displayName || s.name;
      return h(
        'tr',
        { dataset: { name: s.name } },
        h('td', { class: 'check' }, h('input', { type: 'checkbox', class: 'row-select', 'aria-label': `Select ${s.name}`, checked: list.selected.has(s.name), onchange: (ev) => toggleSelect(s.name, ev.target.checked) })),
        h('td', { class: 'name' }, h('a', { href: `#/segments/${encodeURIComponent(s.name)}` }, label), s.displayName ? h('div', { class: 'muted small' }, s.name) : null),
        h('td', null, s.type),
        h('td', null, badge(s.state, 'state')),
        h('td', null, badge(s.status, 'status'), s.lastError ? h('div', { class: 'small error-text' }, s.lastError) : null),
        h('td', { class: 'num', dataset: { value: s.members } }, num(s.members)),
        h('td', null, time(s.lastRefreshed)),
        h('td', null, time(s.created)),
        h('td', null, time(s.modified)),
      );
    }),
  );
  if (list.rows.length === 0) {
    body.append(h('tr', null, h('td', { colspan: 9, class: 'muted' }, list.search ? `No segment matches “${list.search}”.` : 'No segment yet: select New segment or Quickly create from.')));
  }
  const from = list.total === 0 ? 0 : list.offset + 1;
  const to = list.offset + list.rows.length;
  $('page-info').textContent = `${from}–${to} of ${list.total}`;
  $('page-prev').disabled = list.offset === 0;
  $('page-next').disabled = to >= list.total;
  updateSelection();
}

function toggleSelect(name, on) {
  if (on) list.selected.add(name);
  else list.selected.delete(name);
  updateSelection();
}

function updateSelection() {
  const n = list.selected.size;
  for (const id of ['bulk-refresh', 'bulk-activate', 'bulk-deactivate', 'bulk-delete']) $(id).disabled = n === 0;
  $('bulk-overlap').disabled = n < 2 || n > 8;
  $('selection-count').textContent = n ? `${n} selected` : '';
  const onPage = list.rows.map((s) => s.name);
  const all = $('select-all');
  const sel = onPage.filter((n) => list.selected.has(n)).length;
  all.checked = sel > 0 && sel === onPage.length;
  all.indeterminate = sel > 0 && sel < onPage.length;
}

for (const th of document.querySelectorAll('#segments-table th[data-sort]')) {
  th.querySelector('button').addEventListener('click', () => {
    const key = th.dataset.sort;
    if (list.sort === key) list.desc = !list.desc;
    else {
      list.sort = key;
      list.desc = ['members', 'lastRefreshed', 'created', 'modified'].includes(key);
    }
    list.offset = 0;
    loadList();
  });
}

$('search').addEventListener(
  'input',
  debounce(() => {
    list.search = $('search').value.trim();
    list.offset = 0;
    loadList();
  }, 250),
);

$('select-all').addEventListener('change', (ev) => {
  for (const s of list.rows) toggleSelect(s.name, ev.target.checked);
  renderList();
});

$('page-prev').addEventListener('click', () => {
  list.offset = Math.max(0, list.offset - list.limit);
  loadList();
});
$('page-next').addEventListener('click', () => {
  list.offset += list.limit;
  loadList();
});
$('page-size').addEventListener('change', () => {
  list.limit = Number($('page-size').value);
  list.offset = 0;
  loadList();
});

/** eachSelected runs fn on every selected segment and gathers the failures. */
async function eachSelected(what, fn) {
  const names = [...list.selected];
  const failed = [];
  const results = [];
  for (const n of names) {
    try {
      results.push(await fn(n));
    } catch (err) {
      failed.push({ path: n, message: err.detail || err.message, code: err.code });
    }
  }
  if (failed.length) showError(new ProblemError(0, { title: `${what}: ${failed.length} of ${names.length} failed`, problems: failed }));
  return results;
}

$('bulk-overlap').addEventListener('click', async () => {
  showError(null);
  try {
    await openOverlap([...list.selected], await app.schemaData());
  } catch (err) {
    showError(err);
  }
});

$('bulk-refresh').addEventListener('click', async () => {
  showError(null);
  try {
    const job = await post('/api/refresh', { segments: [...list.selected] });
    list.selected.clear();
    await runJob(job, 'Refresh');
  } catch (err) {
    showError(err);
  }
  loadList();
});

$('refresh-all').addEventListener('click', async () => {
  showError(null);
  try {
    const job = await post('/api/refresh', { all: true });
    await runJob(job, 'Refresh all');
  } catch (err) {
    showError(err);
  }
  loadList();
});

$('bulk-activate').addEventListener('click', async () => {
  showError(null);
  const res = await eachSelected('Activate', (n) => post(seg(n, '/activate'), {}));
  list.selected.clear();
  say(`Activated ${res.length} segment(s); refreshing…`);
  await loadList();
  for (const r of res) if (r && r.job) await runJob(r.job, `Activate ${r.segment ? r.segment.name : ''}`).catch(showError);
  loadList();
});

$('bulk-deactivate').addEventListener('click', async () => {
  showError(null);
  const res = await eachSelected('Deactivate', (n) => post(seg(n, '/deactivate'), {}));
  list.selected.clear();
  say(`Deactivated ${res.length} segment(s).`);
  loadList();
});

$('bulk-delete').addEventListener('click', async () => {
  showError(null);
  const names = [...list.selected];
  if (!(await confirmDialog(`Delete ${names.length} segment(s): ${names.join(', ')}? This cannot be undone.`, 'Delete'))) return;
  const res = await eachSelected('Delete', async (n) => {
    await del(seg(n));
    return n;
  });
  list.selected.clear();
  say(`Deleted ${res.length} segment(s).`);
  loadList();
});

$('quick-open').addEventListener('click', () => openQuick());

// ---- segment details -------------------------------------------------------

const details = { name: '', segment: null, range: '30' };

async function loadDetails(name) {
  details.name = name;
  let s;
  try {
    s = await get(seg(name));
  } catch (err) {
    $('details-title').textContent = name;
    showError(err);
    return;
  }
  details.segment = s;
  $('dest-add').open = false;
  renderDetails(s);
  $('split-edit').open = false;
  await Promise.all([loadTrend(), loadPreview(), loadSplit(name), loadDestinations(), loadExports(), loadJobs()]);
  // Inspected and explained as of the members shown (the preview's).
  setExplained(s, details.asOf);
  setApart(s);
  await loadInspection(s, details.asOf);
}

function renderDetails(s) {
  $('details-title').textContent = s.displayName || s.name;
  $('details-subtitle').textContent = s.displayName ? s.name : s.description || '';
  $('details-badges').replaceChildren(badge(s.type, 'type'), badge(s.state, 'state'), badge(s.status, 'status'));
  $('details-edit').href = `#/edit/${encodeURIComponent(s.name)}`;
  const dl = $('details-download');
  dl.href = seg(s.name, '/download');
  dl.setAttribute('download', `${s.name}.csv`);
  $('details-activate').hidden = !app.can('editor') || s.state === 'active';
  $('details-activate').disabled = s.state === 'draft';
  $('details-activate').title = s.state === 'draft' ? 'A draft cannot be activated until its definition is valid' : '';
  $('details-deactivate').hidden = !app.can('editor') || s.state !== 'active';
  const props = [
    ['Name', s.name],
    ['Display name', s.displayName || '—'],
    ['Description', s.description || '—'],
    ['Type', s.type + (s.frozen ? ' (members frozen)' : '')],
    ['State', badge(s.state, 'state')],
    ['Status', badge(s.status, 'status')],
    ['Members', h('span', { id: 'details-members', dataset: { value: s.members } }, num(s.members))],
    ['Last refreshed', time(s.lastRefreshed)],
    ['Last job', s.lastJob ? `#${s.lastJob}` : '—'],
    ['Last error', s.lastError ? h('span', { class: 'error-text' }, s.lastError) : '—'],
    ['Created', time(s.created)],
    ['Modified', time(s.modified)],
    ['Refresh schedule', s.schedule || 'none (refreshed with all segments)'],
    ['Scheduled activation', time(s.activateAt)],
    ['Scheduled deactivation', time(s.deactivateAt)],
    ['References', s.references && s.references.length ? s.references.map((r) => h('a', { href: `#/segments/${encodeURIComponent(r)}` }, r, ' ')) : '—'],
  ];
  if (s.scheduleError) props.push(['Schedule error', h('span', { class: 'error-text' }, s.scheduleError)]);
  $('details-props').replaceChildren(...props.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  const probs = $('details-problems');
  probs.replaceChildren();
  if (s.problems && s.problems.length) {
    probs.append(h('h3', null, 'Why this segment is a draft'), problemList(s.problems));
  }
  const def = typeof s.definition === 'string' ? s.definition : JSON.stringify(s.definition, null, 2);
  $('details-definition').textContent = def;
  $('schedule-cron').value = s.schedule || '';
}

async function loadTrend() {
  const r = details.range;
  const from = r === 'all' ? '' : new Date(Date.now() - Number(r) * 86400e3).toISOString();
  try {
    const res = await get(seg(details.name, `/history${query({ from })}`));
    const hist = res.history || [];
    renderTrend(hist);
    const last = hist[hist.length - 1];
    $('trend-summary').textContent = hist.length
      ? `${hist.length} refresh(es) in this range; latest ${fmtTime(last.time)}: ${num(last.members)} members, ${num(last.entered)} entered, ${num(last.left)} left.`
      : '';
  } catch (err) {
    renderTrend([]);
    $('trend-summary').textContent = `The history is not available: ${err.message}`;
  }
}

for (const r of document.querySelectorAll('input[name="trend-range"]')) {
  r.addEventListener('change', () => {
    details.range = r.value;
    loadTrend();
  });
}

async function loadPreview() {
  const table = $('preview-table');
  const info = $('preview-info');
  try {
    const p = await get(seg(details.name, '/preview?rows=100'));
    const cols = p.columns || [];
    table.tHead.replaceChildren(h('tr', null, cols.map((c) => h('th', { scope: 'col', title: c.type }, c.name))));
    table.tBodies[0].replaceChildren(...(p.rows || []).map((row) => h('tr', null, row.map((v, i) => h('td', { class: ['integer', 'number'].includes(cols[i] && cols[i].type) ? 'num' : null }, v)))));
    const shown = (p.rows || []).length;
    info.textContent = `Showing the first ${num(shown)} of ${num(p.total)} members${p.asOf ? `, as of ${fmtTime(p.asOf)}` : ''}. Download the CSV for all of them.${p.warnings && p.warnings.length ? ' ' + p.warnings.join(' ') : ''}`;
    info.dataset.total = String(p.total);
    details.asOf = p.asOf && !p.asOf.startsWith('0001-') ? p.asOf : '';
  } catch (err) {
    table.tHead.replaceChildren();
    table.tBodies[0].replaceChildren();
    info.textContent = `No preview: ${err.detail || err.message}`;
    details.asOf = '';
  }
}

async function loadDestinations() {
  const tbody = document.querySelector('#dest-table tbody');
  try {
    const res = await get(seg(details.name, '/destinations'));
    const dests = res.destinations || [];
    $('dest-empty').hidden = dests.length > 0;
    tbody.replaceChildren(
      ...dests.map((d) =>
        h(
          'tr',
          { dataset: { name: d.name } },
          h('td', null, d.name),
          h('td', null, h('code', null, d.where), d.group ? ` (group ${d.group})` : ''),
          h('td', null, d.mode, d.onDemand ? ' (on demand)' : ''),
          h('td', { class: 'num' }, num(d.sent)),
          h('td', null, d.lastExport ? [badge(d.lastStatus, 'status'), ' ', time(d.lastSuccess)] : '—', d.lastError ? h('div', { class: 'small error-text' }, d.lastError) : null),
          h(
            'td',
            null,
            app.can('editor') ? h('button', { type: 'button', onclick: () => exportTo(d.name) }, `Export to ${d.name}`) : null,
            app.can('admin') ? [' ', h('button', { type: 'button', class: 'danger', onclick: () => removeDestination(d.name) }, 'Remove')] : null,
          ),
        ),
      ),
    );
  } catch (err) {
    tbody.replaceChildren(h('tr', null, h('td', { colspan: 6 }, problemBox(err))));
  }
}

async function exportTo(dest) {
  showError(null);
  try {
    const job = await post(seg(details.name, '/exports'), { destination: dest });
    say(`Export to ${dest}: job ${job.id} ${job.status}…`);
    const done = await waitJob(`/api/exports/${job.id}`, (j) => say(`Export to ${dest}: job ${j.id} ${j.status}…`));
    say(`Export to ${dest}: job ${done.id} ${done.status}, ${num(done.members)} members.`);
    if (done.errors && done.errors.length) showError(new ProblemError(0, { title: `Export ${done.id} ${done.status}`, detail: done.errors.join('\n') }));
  } catch (err) {
    showError(err);
  }
  loadDestinations();
  loadExports();
}

async function removeDestination(dest) {
  if (!(await confirmDialog(`Remove destination ${dest} from ${details.name}?`, 'Remove'))) return;
  try {
    await del(seg(details.name, `/destinations/${encodeURIComponent(dest)}`));
    say(`Removed destination ${dest}.`);
  } catch (err) {
    showError(err);
  }
  loadDestinations();
}

$('dest-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const fields = $('dest-fields')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const body = { name: $('dest-name').value.trim(), to: $('dest-to').value.trim(), mode: $('dest-mode').value, changes: $('dest-changes').checked, onDemand: $('dest-ondemand').checked };
  if (fields.length) body.fields = fields;
  if ($('dest-group').value.trim()) body.group = $('dest-group').value.trim();
  try {
    const d = await post(seg(details.name, '/destinations'), body);
    say(`Added destination ${d.name}.`);
    $('dest-form').reset();
  } catch (err) {
    showError(err);
  }
  loadDestinations();
});

async function loadExports() {
  const tbody = document.querySelector('#exports-table tbody');
  try {
    const res = await get(seg(details.name, '/exports?limit=10'));
    const ex = res.exports || [];
    tbody.replaceChildren(
      ...ex.map((j) => h('tr', null, h('td', null, j.id), h('td', null, j.destination), h('td', null, badge(j.status, 'status')), h('td', null, time(j.created)), h('td', { class: 'num' }, num(j.members)), h('td', null, (j.errors || []).join('; ') || '—'))),
    );
    if (!ex.length) tbody.append(h('tr', null, h('td', { colspan: 6, class: 'muted' }, 'No export yet.')));
  } catch (err) {
    tbody.replaceChildren(h('tr', null, h('td', { colspan: 6 }, problemBox(err))));
  }
}

async function loadJobs() {
  const tbody = document.querySelector('#jobs-table tbody');
  const name = details.name;
  try {
    const res = await get('/api/jobs?limit=50');
    const jobs = (res.jobs || []).filter((j) => (j.tasks || []).some((t) => t.segment === name) || (j.requested || []).includes(name));
    const lastJob = details.segment && details.segment.lastJob;
    if (lastJob && !jobs.some((j) => j.id === lastJob)) {
      try {
        jobs.unshift(await get(`/api/jobs/${lastJob}`));
      } catch {
        // An old job may have been removed.
      }
    }
    jobs.sort((a, b) => b.id - a.id);
    tbody.replaceChildren(
      ...jobs.map((j) => {
        const t = (j.tasks || []).find((t) => t.segment === name) || {};
        const notes = [...(j.errors || []), ...(t.errors || [])].map((e) => h('li', { class: 'error-text' }, e));
        const warnList = [...(j.warnings || []), ...(t.warnings || [])];
        const warns = warnList.length
          ? h('li', null, h('details', null, h('summary', { class: 'warning-text' }, `${warnList.length} warning${warnList.length === 1 ? '' : 's'}`), h('ul', null, warnList.map((w) => h('li', { class: 'warning-text small' }, w)))))
          : [];
        return h(
          'tr',
          { dataset: { job: j.id } },
          h('td', null, `#${j.id}`, t.reason ? h('div', { class: 'small muted' }, t.reason) : null),
          h('td', null, j.trigger),
          h('td', null, badge(t.status || j.status, 'status')),
          h('td', null, time(j.created)),
          h('td', null, duration(t.duration ?? j.duration)),
          h('td', { class: 'num' }, num(t.members)),
          h('td', { class: 'num' }, num(t.entered)),
          h('td', { class: 'num' }, num(t.left)),
          h('td', null, notes.length || warnList.length ? h('ul', { class: 'plain' }, notes, warns) : '—'),
        );
      }),
    );
    if (!jobs.length) tbody.append(h('tr', null, h('td', { colspan: 9, class: 'muted' }, 'No job has refreshed this segment yet.')));
  } catch (err) {
    tbody.replaceChildren(h('tr', null, h('td', { colspan: 9 }, problemBox(err))));
  }
}

async function refreshDetails() {
  await loadDetails(details.name);
}

$('details-refresh').addEventListener('click', async () => {
  showError(null);
  try {
    const job = await post('/api/refresh', { segments: [details.name] });
    await runJob(job, `Refresh ${details.name}`);
  } catch (err) {
    showError(err);
  }
  refreshDetails();
});

$('details-activate').addEventListener('click', async () => {
  showError(null);
  try {
    const res = await post(seg(details.name, '/activate'), {});
    if (res && res.job) await runJob(res.job, `Activate ${details.name}`);
    else say(`Activated ${details.name}.`);
  } catch (err) {
    showError(err);
  }
  refreshDetails();
});

$('details-deactivate').addEventListener('click', async () => {
  showError(null);
  try {
    await post(seg(details.name, '/deactivate'), {});
    say(`Deactivated ${details.name}.`);
  } catch (err) {
    showError(err);
  }
  refreshDetails();
});

$('details-delete').addEventListener('click', async () => {
  if (!(await confirmDialog(`Delete segment ${details.name}? This cannot be undone.`, 'Delete'))) return;
  try {
    await del(seg(details.name));
    say(`Deleted ${details.name}.`);
    go('#/');
  } catch (err) {
    showError(err);
  }
});

$('details-rename').addEventListener('click', () => {
  const dlg = $('rename-dialog');
  $('rename-name').value = details.name;
  dlg.returnValue = '';
  dlg.showModal();
  $('rename-name').select();
});

$('rename-dialog').addEventListener('close', async () => {
  if ($('rename-dialog').returnValue !== 'ok') return;
  const to = $('rename-name').value.trim();
  if (!to || to === details.name) return;
  try {
    const s = await post(seg(details.name, '/rename'), { name: to });
    say(`Renamed ${details.name} to ${s.name}.`);
    go(`#/segments/${encodeURIComponent(s.name)}`);
  } catch (err) {
    showError(err);
  }
});

$('schedule-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  try {
    await put(seg(details.name, '/schedule'), { cron: $('schedule-cron').value.trim() });
    say($('schedule-cron').value.trim() ? `Schedule of ${details.name} set.` : `Schedule of ${details.name} removed.`);
  } catch (err) {
    showError(err);
  }
  refreshDetails();
});

$('later-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const what = ev.submitter ? ev.submitter.value : 'activate';
  const v = $('later-at').value;
  if (!v) {
    showError(new ProblemError(0, { title: 'Choose a date and time first' }));
    return;
  }
  try {
    await post(seg(details.name, `/${what}`), { at: new Date(v).toISOString() });
    say(`${details.name} will ${what} at ${fmtTime(new Date(v))}.`);
  } catch (err) {
    showError(err);
  }
  refreshDetails();
});

// ---- start -----------------------------------------------------------------

(async () => {
  if (await startSession()) await route();
  document.body.dataset.ready = 'true';
})();
