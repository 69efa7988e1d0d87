// The "Quickly create from" dialog: a field from profiles, measures or
// intelligence, its top values or percentiles, one operator and value, the
// estimated size, and a name.

import { get, post, query, ProblemError } from './api.js';
import { $, h, num, problemBox, say, debounce, pick } from './ui.js';
import { go, runJob } from './app.js';

const q = { fields: [], field: null, insights: null, nameTouched: false, seq: 0 };
const opLabels = { is: 'is', between: 'between', greaterThan: 'greater than', lessThan: 'less than' };

/** openQuick opens the dialog. */
export async function openQuick() {
  q.nameTouched = false;
  $('quick-form').reset();
  $('q-problem').replaceChildren();
  $('q-estimate').textContent = '';
  $('quick-dialog').showModal();
  $('q-source').focus();
  await loadFields();
}

async function loadFields() {
  const sel = $('q-field');
  sel.replaceChildren();
  $('q-insights').replaceChildren();
  $('q-problem').replaceChildren();
  try {
    const res = await get(`/api/quick/fields${query({ source: $('q-source').value })}`);
    q.fields = res.fields || [];
  } catch (err) {
    q.fields = [];
    $('q-problem').append(problemBox(err));
  }
  if (!q.fields.length) {
    sel.append(h('option', { value: '', disabled: true, selected: true }, 'No field from this source'));
    q.field = null;
    renderOps();
    return;
  }
  sel.append(...q.fields.map((f) => h('option', { value: f.name }, f.displayName ? `${f.displayName} (${f.name})` : f.name)));
  await chooseField();
}

function fieldOps(f) {
  if (!f) return [];
  if (Array.isArray(f.ops) && f.ops.length) return f.ops;
  const kind = f.kind || f.scale;
  return kind === 'numerical' ? ['between', 'greaterThan', 'lessThan'] : ['is'];
}

function renderOps() {
  const sel = $('q-op');
  const ops = fieldOps(q.field);
  sel.replaceChildren(...ops.map((o) => h('option', { value: o }, opLabels[o] || o)));
  renderValueInputs();
}

function renderValueInputs() {
  const between = $('q-op').value === 'between';
  $('q-value2-wrap').hidden = !between;
  $('q-value-label').textContent = between ? 'From' : 'Value';
}

async function chooseField() {
  q.field = q.fields.find((f) => f.name === $('q-field').value) || null;
  $('q-value').value = '';
  $('q-value2').value = '';
  $('q-estimate').textContent = '';
  renderOps();
  const box = $('q-insights');
  box.replaceChildren(h('p', { class: 'muted' }, 'Loading insights…'));
  if (!q.field) return;
  const seq = ++q.seq;
  try {
    const ins = await get(`/api/quick/insights${query({ field: q.field.name })}`);
    if (seq !== q.seq) return;
    q.insights = ins;
    renderInsights(ins);
  } catch (err) {
    if (seq !== q.seq) return;
    box.replaceChildren(problemBox(err));
  }
}

function valueText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function renderInsights(ins) {
  const box = $('q-insights');
  const customers = pick(ins, 'customers', 'Customers') || 0;
  const nulls = pick(ins, 'nulls', 'Nulls') || 0;
  const top = pick(ins, 'top', 'Top') || [];
  const pct = pick(ins, 'percentiles', 'Percentiles') || [];
  const share = (n) => (customers ? `${((100 * n) / customers).toFixed(1)} %` : '');
  const parts = [];
  if (top.length) {
    parts.push(
      h('h3', null, `Top ${top.length} values`),
      h(
        'table',
        { class: 'grid compact', id: 'q-top' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col', class: 'num' }, 'Customers'), h('th', { scope: 'col', class: 'num' }, 'Share'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Choose')))),
        h(
          'tbody',
          null,
          top.map((t) => {
            const v = valueText(pick(t, 'value', 'Value'));
            const n = pick(t, 'customers', 'Customers') || 0;
            return h(
              'tr',
              { dataset: { value: v } },
              h('td', null, v),
              h('td', { class: 'num' }, num(n)),
              h('td', { class: 'num' }, h('span', { class: 'bar', style: `--w:${customers ? (100 * n) / customers : 0}%` }), share(n)),
              h('td', null, h('button', { type: 'button', class: 'link choose', onclick: () => chooseValue(v) }, `Choose ${v}`)),
            );
          }),
        ),
      ),
      h('p', { class: 'muted small' }, `${num(pick(ins, 'other', 'Other') || 0)} others, ${num(nulls)} with no value, of ${num(customers)} customers.`),
    );
  }
  if (pct.length) {
    const marks = [0, 10, 25, 50, 75, 90, 100].filter((p) => p < pct.length);
    parts.push(
      h('h3', null, 'Percentiles'),
      h(
        'table',
        { class: 'grid compact', id: 'q-percentiles' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Percentile'), h('th', { scope: 'col', class: 'num' }, 'Value'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Choose')))),
        h(
          'tbody',
          null,
          marks.map((p) => {
            const v = valueText(pct[p]);
            return h('tr', { dataset: { percentile: p } }, h('td', null, p === 0 ? 'min (0th)' : p === 100 ? 'max (100th)' : `${p}th`), h('td', { class: 'num' }, v), h('td', null, h('button', { type: 'button', class: 'link choose', onclick: () => chooseValue(v) }, `Use ${v}`)));
          }),
        ),
      ),
      h('p', { class: 'muted small' }, `${num(nulls)} of ${num(customers)} customers have no value.`),
    );
  }
  if (!parts.length) parts.push(h('p', { class: 'muted' }, 'No value to show for this field.'));
  box.replaceChildren(...parts);
}

function chooseValue(v) {
  const between = $('q-op').value === 'between';
  if (between && $('q-value').value && !$('q-value2').value) $('q-value2').value = v;
  else $('q-value').value = v;
  suggestName();
  review();
}

function valueParam() {
  const v1 = $('q-value').value.trim();
  if ($('q-op').value === 'between') return `${v1},${$('q-value2').value.trim()}`;
  return $('q-op').value === 'is' ? $('q-value').value : v1;
}

function suggestName() {
  if (q.nameTouched || !q.field) return;
  const attr = q.field.attribute || q.field.name.split('.').pop();
  const v = valueParam().replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  const op = $('q-op').value;
  $('q-name').value = `${attr}${op === 'is' ? '' : `_${op}`}${v ? `_${v}` : ''}`.slice(0, 128);
}

async function review() {
  const out = $('q-estimate');
  $('q-problem').replaceChildren();
  if (!q.field) return;
  const seq = ++q.seq;
  out.textContent = 'Estimating…';
  delete out.dataset.members;
  try {
    const est = await get(`/api/quick/estimate${query({ field: q.field.name, op: $('q-op').value, value: valueParam() })}`);
    if (seq !== q.seq) return;
    const members = pick(est, 'members', 'MemberCount');
    const customers = pick(est, 'customers', 'Customers');
    const share = pick(est, 'share', 'Share');
    out.replaceChildren('Estimated segment size: ', h('strong', null, num(members)), ` of ${num(customers)} customers${typeof share === 'number' ? ` (${(share * 100).toFixed(1)} %)` : ''}`);
    out.dataset.members = String(members);
  } catch (err) {
    if (seq !== q.seq) return;
    out.textContent = '';
    $('q-problem').replaceChildren(problemBox(err));
  }
}

const reviewSoon = debounce(review, 400);

$('q-source').addEventListener('change', loadFields);
$('q-field').addEventListener('change', chooseField);
$('q-op').addEventListener('change', () => {
  renderValueInputs();
  suggestName();
  reviewSoon();
});
for (const id of ['q-value', 'q-value2']) {
  $(id).addEventListener('input', () => {
    suggestName();
    reviewSoon();
  });
}
$('q-review').addEventListener('click', review);
$('q-name').addEventListener('input', () => {
  q.nameTouched = true;
});
$('q-cancel').addEventListener('click', () => $('quick-dialog').close());

$('q-save').addEventListener('click', async () => {
  $('q-problem').replaceChildren();
  if (!q.field) return;
  const name = $('q-name').value.trim();
  if (!name) {
    $('q-problem').append(problemBox(new ProblemError(0, { title: 'Give the segment a name' })));
    $('q-name').focus();
    return;
  }
  const body = { name, displayName: $('q-display').value.trim(), field: q.field.name, op: $('q-op').value, value: valueParam(), active: $('q-active').checked };
  try {
    const res = await post('/api/quick/segments', body);
    const s = res.segment || res;
    $('quick-dialog').close();
    const job = res.job || (body.active && s.lastJob ? { id: s.lastJob, status: 'refreshing' } : null);
    if (job) await runJob(job, `Create ${s.name}`);
    say(`Created quick segment ${s.name} (${s.state}).`);
    go(`#/segments/${encodeURIComponent(s.name)}`);
  } catch (err) {
    $('q-problem').replaceChildren(problemBox(err));
  }
});
