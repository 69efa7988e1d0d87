// Understanding segments on the page: a segment's inspection (where the
// audience is lost), the explanation of one customer, and the overlap of
// the segments selected in the list.

import { get, post, query } from './api.js';
import { $, h, num, problemBox } from './ui.js';

// ---- inspection --------------------------------------------------------------

/** loadInspection shows the sizes of a segment's groups and conditions. */
export async function loadInspection(segment, asOf) {
  const box = $('inspect-body');
  if (segment.state === 'draft') {
    box.replaceChildren(h('p', { class: 'muted' }, 'A draft is inspected once its definition is valid.'));
    return;
  }
  box.replaceChildren(h('p', { class: 'muted' }, 'Inspecting…'));
  try {
    const ins = await post('/api/inspect', { definition: segment.definition, ...(asOf ? { asOf } : {}) });
    const rows = [];
    ins.groups.forEach((g, i) => {
      const single = g.conditions.length === 1 && g.conditions[0].path === g.path;
      rows.push(
        h('tr', { class: 'group-row' },
          h('th', { scope: 'row' }, `Group ${i + 1}${g.setOp ? ` (${g.setOp})` : ''}${single ? ': ' + g.condition : ''}`),
          h('td', { class: 'num' }, num(g.size)),
          h('td', { class: 'num', dataset: { testid: 'running' } }, num(g.running))),
      );
      if (!single) {
        for (const c of g.conditions) {
          rows.push(h('tr', null, h('td', { class: 'indent' }, c.condition), h('td', { class: 'num' }, num(c.size)), h('td', null, '')));
        }
      }
    });
    box.replaceChildren(
      h('p', { class: 'muted' }, `${num(ins.members)} members of ${num(ins.customers)} customers. Each condition is counted alone; the running size follows each set operation.`),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'grid', id: 'inspect-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Group or condition'), h('th', { scope: 'col', class: 'num' }, 'Customers alone'), h('th', { scope: 'col', class: 'num' }, 'Running size'))),
          h('tbody', null, rows))),
    );
  } catch (err) {
    box.replaceChildren(problemBox(err));
  }
}

// ---- explain -------------------------------------------------------------------

let explained = { segment: null, asOf: '' };

/** setExplained sets the segment the explain form asks about. */
export function setExplained(segment, asOf) {
  explained = { segment, asOf };
  $('explain-out').replaceChildren();
  $('explain-form').hidden = segment.state === 'draft';
}

$('explain-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = $('explain-key').value.trim();
  const out = $('explain-out');
  if (!key || !explained.segment) return;
  out.replaceChildren(h('p', { class: 'muted' }, 'Explaining…'));
  try {
    const ex = await post('/api/explain', {
      definition: explained.segment.definition,
      customer: key,
      ...(explained.asOf ? { asOf: explained.asOf } : {}),
    });
    out.replaceChildren(
      h('p', { class: ex.member ? 'verdict in' : 'verdict out', dataset: { testid: 'verdict' } },
        `Customer ${ex.customer} is ${ex.member ? '' : 'not '}a member.`),
      ...ex.groups.map((g, i) =>
        h('div', { class: 'explain-group' },
          h('p', null, `Group ${i + 1}${g.setOp ? ` (${g.setOp})` : ''}: ${g.condition.holds ? 'holds' : 'does not hold'}; a member after it: ${g.running ? 'yes' : 'no'}`),
          h('ul', { class: 'explain-tree' }, node(g.condition)))),
    );
  } catch (err) {
    out.replaceChildren(problemBox(err));
  }
});

function node(n) {
  const label = n.children && n.children.length ? n.kind : n.condition;
  const extra = [];
  if (n.kind === 'predicate' && !n.rows) extra.push(h('span', { class: 'muted' }, n.null ? ' (no value)' : ` (value ${n.value})`));
  let rows = null;
  if (n.rows) {
    const r = n.rows;
    let what = `${num(r.matched)} of ${num(r.total)} ${r.entity} rows match`;
    if (r.aggregate !== undefined || r.aggregateNull) what += `; the aggregate is ${r.aggregateNull ? 'no value' : r.aggregate}`;
    extra.push(h('div', { class: 'muted' }, what));
    if (r.rows.length) {
      rows = h('details', null, h('summary', null, `${r.listed} rows`),
        h('table', { class: 'grid' },
          h('thead', null, h('tr', null, r.attributes.map((a) => h('th', { scope: 'col' }, a)))),
          h('tbody', null, r.rows.map((row) => h('tr', null, row.map((v) => h('td', null, v)))))));
    }
  }
  return h('li', { class: n.holds ? 'holds' : 'fails' },
    h('span', { class: 'mark', 'aria-label': n.holds ? 'holds' : 'does not hold' }, n.holds ? '✓' : '✗'), ' ', label, extra, rows,
    n.children && n.children.length ? h('ul', null, n.children.map(node)) : null);
}

// ---- overlap -------------------------------------------------------------------

let overlapNames = [];

/** openOverlap shows the overlap dialog for the named segments. */
export async function openOverlap(names, data) {
  overlapNames = names;
  const sel = $('overlap-by');
  const cust = data.schema.entities.find((e) => e.name === data.schema.customerEntity);
  sel.replaceChildren(h('option', { value: '' }, '(no breakdown)'),
    ...cust.attributes.filter((a) => a.name !== cust.key).map((a) => h('option', { value: `${cust.name}.${a.name}` }, `${cust.name}.${a.name}`)));
  $('overlap-title').textContent = `Overlap of ${names.join(', ')}`;
  $('overlap-dialog').showModal();
  await showOverlap();
}

async function showOverlap() {
  const out = $('overlap-out');
  out.replaceChildren(h('p', { class: 'muted' }, 'Counting…'));
  try {
    const by = $('overlap-by').value;
    const ov = await get(`/api/overlap${query({ segments: overlapNames.join(','), by })}`);
    const values = (ov.values || []).slice(0, 8);
    const head = ['In', 'Customers', 'Share', ...values, ...(by ? ['Other', 'No value'] : [])];
    const body = ov.regions.map((r) => {
      const name = r.in.length === 0 ? '(none of them)' : r.in.join(' & ') + (r.in.length < ov.sets.length ? ' only' : '');
      const cells = [h('th', { scope: 'row' }, name), h('td', { class: 'num' }, num(r.count)),
        h('td', { class: 'num' }, ov.customers ? `${((100 * r.count) / ov.customers).toFixed(1)}%` : '0%')];
      if (by) {
        let other = r.other || 0;
        (r.byValue || []).forEach((c, j) => {
          if (j < values.length) cells.push(h('td', { class: 'num' }, num(c)));
          else other += c;
        });
        cells.push(h('td', { class: 'num' }, num(other)), h('td', { class: 'num' }, num(r.null || 0)));
      }
      return h('tr', { dataset: { mask: String(r.mask) } }, cells);
    });
    out.replaceChildren(
      h('p', { class: 'muted' }, `${num(ov.customers)} customers; ${ov.sets.map((s, i) => `${s}: ${num(ov.sizes[i])}`).join(', ')}.`),
      h('div', { class: 'table-wrap scroll' }, h('table', { class: 'grid', id: 'overlap-table' },
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', null, body))),
    );
  } catch (err) {
    out.replaceChildren(problemBox(err));
  }
}

$('overlap-by').addEventListener('change', showOverlap);
$('overlap-close').addEventListener('click', () => $('overlap-dialog').close());
