// A segment's split into groups (A/B tests) and its holdout, in the
// details view: the groups with their members and buckets, and the form
// that splits the segment or changes its percentages. And the priority
// lists, on the list view: each entry's customers, a CSV download with
// each customer once, and the form that creates one.

import { get, post, put, del, seg, ProblemError } from './api.js';
import { $, h, num, problemBox, showError, say, confirmDialog } from './ui.js';
import { app } from './app.js';

let current = '';

/** loadSplit shows the split of the segment name (or that it has none). */
export async function loadSplit(name) {
  current = name;
  const tbody = document.querySelector('#split-table tbody');
  const info = $('split-info');
  $('split-remove').hidden = true;
  try {
    const sc = await get(seg(name, '/groups'));
    if (current !== name) return;
    info.textContent = `${num(sc.members)} members, hashed with salt "${sc.salt}". Exports send every group but the holdout.`;
    tbody.replaceChildren(
      ...sc.groups.map((g) =>
        h(
          'tr',
          { dataset: { group: g.name } },
          h('td', null, g.name),
          h('td', { class: 'num' }, `${g.percent}%`),
          h('td', { class: 'num' }, num(g.members)),
          h('td', null, g.holdout ? 'holdout: never exported' : '—'),
          h('td', null, h('code', null, (g.buckets || []).map((r) => `${r[0]}–${r[1] - 1}`).join(', '))),
        ),
      ),
    );
    $('split-table').hidden = false;
    $('split-remove').hidden = false;
    const plain = sc.groups.filter((g) => !g.holdout);
    const held = sc.groups.find((g) => g.holdout);
    $('split-groups').value = plain.map((g) => `${g.name}=${g.percent}`).join(', ');
    $('split-holdout').value = held ? `${held.name}=${held.percent}` : '';
    $('split-salt').value = '';
  } catch (err) {
    if (current !== name) return;
    $('split-table').hidden = true;
    tbody.replaceChildren();
    if (err instanceof ProblemError && err.status === 404) {
      info.textContent = 'This segment is not split.';
    } else {
      info.replaceChildren(problemBox(err));
    }
  }
}

// parseGroups reads "Test=45, Control=45" into groups.
function parseGroups(text, holdout) {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [name, pct] = item.split('=');
      return { name: (name || '').trim(), percent: Number(String(pct || '').replace('%', '').trim()), holdout };
    });
}

$('split-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const groups = [...parseGroups($('split-groups').value, false), ...parseGroups($('split-holdout').value, true)];
  try {
    const sp = await put(seg(current, '/split'), { salt: $('split-salt').value.trim(), groups });
    say(`Split ${sp.segment}: ${sp.groups.map((g) => `${g.name} ${g.percent}%`).join(', ')}.`);
  } catch (err) {
    showError(err);
  }
  loadSplit(current);
});

$('split-remove').addEventListener('click', async () => {
  if (!(await confirmDialog(`Remove the split of ${current}? Its exports send every member again.`, 'Remove'))) return;
  try {
    await del(seg(current, '/split'));
    say(`Removed the split of ${current}.`);
  } catch (err) {
    showError(err);
  }
  loadSplit(current);
});

// ---- priority lists ----------------------------------------------------------

function listPath(name, rest = '') {
  return `/api/priority-lists/${encodeURIComponent(name)}${rest}`;
}

/** loadPriorityLists shows the priority lists with each entry's count. */
export async function loadPriorityLists() {
  const tbody = document.querySelector('#priority-table tbody');
  try {
    const res = await get('/api/priority-lists');
    const lists = res.lists || [];
    const rows = await Promise.all(
      lists.map(async (l) => {
        let counts = null;
        try {
          counts = await get(listPath(l.name, '/counts'));
        } catch (err) {
          counts = { error: err };
        }
        const label = (e) => (e.group ? `${e.segment}/${e.group}` : e.segment);
        const entries = counts && !counts.error ? counts.entries.map((e) => `${label(e)} (${num(e.members)})`) : l.entries.map(label);
        return h(
          'tr',
          { dataset: { list: l.name } },
          h('td', null, l.name),
          h('td', null, entries.join(' › '), counts && counts.error ? h('div', { class: 'small error-text' }, counts.error.detail || counts.error.message) : null),
          h('td', { class: 'num' }, counts && !counts.error ? num(counts.customers) : '—'),
          h(
            'td',
            null,
            h('a', { class: 'button', href: listPath(l.name, '/export'), download: `${l.name}.csv` }, 'Download CSV'),
            app.can('editor') ? [' ', h('button', { type: 'button', class: 'danger', onclick: () => deleteList(l.name) }, 'Delete')] : null,
          ),
        );
      }),
    );
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.append(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No priority list yet.')));
  } catch (err) {
    tbody.replaceChildren(h('tr', null, h('td', { colspan: 4 }, problemBox(err))));
  }
}

async function deleteList(name) {
  if (!(await confirmDialog(`Delete the priority list ${name}? Its segments stay.`, 'Delete'))) return;
  try {
    await del(listPath(name));
    say(`Deleted the priority list ${name}.`);
  } catch (err) {
    showError(err);
  }
  loadPriorityLists();
}

$('priority-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const entries = $('priority-entries')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.indexOf('/');
      return i < 0 ? { segment: s } : { segment: s.slice(0, i).trim(), group: s.slice(i + 1).trim() };
    });
  try {
    const pl = await post('/api/priority-lists', { name: $('priority-name').value.trim(), entries });
    say(`Created the priority list ${pl.name}.`);
    $('priority-form').reset();
  } catch (err) {
    showError(err);
  }
  loadPriorityLists();
});
