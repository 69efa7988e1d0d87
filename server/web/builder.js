// The segment builder: groups combined by set operators, conditions joined
// by AND / OR, predicates on the customer entity and measures, related
// conditions over relationship paths (any / all / none, or an aggregate
// compared with a value), segment references, and a raw JSON mode. It
// validates as the user edits and estimates the size of valid definitions.

import { get, post, put, seg, query, ProblemError } from './api.js';
import { $, h, num, fmtTime, problemList, problemBox, showError, say, debounce } from './ui.js';
import { app, go, runJob } from './app.js';

const noValueOps = new Set(['isTrue', 'isFalse', 'isNull', 'isNotNull']);
const listOps = new Set(['in', 'notIn']);
const dayOps = new Set(['inLastDays', 'inNextDays', 'anniversaryInLastDays', 'anniversaryInNextDays']);
const caseOps = new Set(['equals', 'notEquals', 'in', 'notIn', 'contains', 'notContains', 'startsWith', 'endsWith', 'matches']);
const allOps = ['equals', 'notEquals', 'in', 'notIn', 'greaterThan', 'greaterThanOrEqual', 'lessThan', 'lessThanOrEqual', 'between', 'contains', 'notContains', 'startsWith', 'endsWith', 'isTrue', 'isFalse', 'isNull', 'isNotNull', 'inLastDays', 'inNextDays', 'matches', 'anniversaryInLastDays', 'anniversaryInNextDays'];
const opLabels = {
  equals: 'equals',
  notEquals: 'does not equal',
  in: 'is one of',
  notIn: 'is none of',
  greaterThan: 'greater than',
  greaterThanOrEqual: 'greater than or equal to',
  lessThan: 'less than',
  lessThanOrEqual: 'less than or equal to',
  between: 'between',
  contains: 'contains',
  notContains: 'does not contain',
  startsWith: 'starts with',
  endsWith: 'ends with',
  isTrue: 'is true',
  isFalse: 'is false',
  isNull: 'is empty',
  isNotNull: 'is not empty',
  inLastDays: 'in the last N days',
  inNextDays: 'in the next N days',
  matches: 'matches the regular expression',
  anniversaryInLastDays: 'anniversary in the last N days',
  anniversaryInNextDays: 'anniversary in the next N days',
};
const aggFuncs = ['count', 'countDistinct', 'sum', 'avg', 'min', 'max'];
const matchLabels = { any: 'at least one matching record', all: 'all records matching (and at least one)', none: 'no matching record', aggregate: 'an aggregate of the matching records' };

let uidCounter = 0;
const uid = () => ++uidCounter;

/** The builder's state. */
const b = {
  data: null,
  editing: null, // the name of the segment being edited, or null for a new one
  mode: 'builder', // or 'json'
  model: null,
  pathIndex: new Map(), // JSON path -> problems container
  seq: 0,
  lastDefinition: null,
};

// previewSeq numbers the edit's previews asked for; an edit of the
// definition makes the one in flight stale.
let previewSeq = 0;

// ---- schema ---------------------------------------------------------------

function schema() {
  return (b.data && b.data.schema) || { entities: [] };
}

function customerEntity() {
  return schema().customerEntity || 'Customer';
}

function entityNames() {
  return (schema().entities || []).map((e) => e.name);
}

function relatedEntities() {
  const paths = (b.data && b.data.paths) || {};
  const named = Object.keys(paths);
  const others = entityNames().filter((n) => n !== customerEntity());
  return [...new Set([...named, ...others])].sort();
}

function measures() {
  return schema().measures || [];
}

function attrsOf(entity) {
  if (entity === 'Measures') return measures().map((m) => ({ name: m.name, type: measureType(m), displayName: m.displayName }));
  const e = (schema().entities || []).find((e) => e.name === entity);
  return e ? e.attributes || [] : [];
}

function measureType(m) {
  const f = m.aggregate && m.aggregate.function;
  if (f === 'count' || f === 'countDistinct') return 'integer';
  if (f === 'sum' || f === 'avg') return 'number';
  const ref = (m.aggregate && m.aggregate.attribute) || '';
  const [ent, attr] = ref.split('.');
  const a = attrsOf(ent).find((a) => a.name === attr);
  return a ? a.type : '';
}

function attrType(entity, attr) {
  const a = attrsOf(entity).find((a) => a.name === attr);
  return a ? a.type : '';
}

function opsFor(type) {
  const ops = (b.data && b.data.operators) || {};
  return type && ops[type] ? ops[type] : allOps;
}

function pathsOf(entity) {
  const p = (b.data && b.data.paths) || {};
  return p[entity] || [];
}

// ---- model ----------------------------------------------------------------

function newCmp(operator = 'equals') {
  return { operator, v1: '', v2: '', ignoreCase: false };
}

function newPred(entity) {
  return { kind: 'pred', uid: uid(), negate: false, entity: entity || customerEntity(), attr: '', cmp: newCmp() };
}

function newBlock(logic, items) {
  return { kind: 'block', uid: uid(), negate: false, logic, items: items || [] };
}

function newRelated(entity) {
  return { kind: 'related', uid: uid(), negate: false, entity, path: null, where: newBlock('and', [newPred(entity)]), match: 'any', fn: 'sum', aggAttr: '', cmp: newCmp('greaterThanOrEqual') };
}

function newModel() {
  return { name: '', displayName: '', description: '', type: 'dynamic', timeZone: '', groups: [{ uid: uid(), setOperator: '', block: newBlock('and', [newPred()]) }] };
}

// Values: the inputs hold text; JSON values are typed by the attribute.
function typed(text, type) {
  const t = String(text).trim();
  if ((type === 'integer' || type === 'number' || type === '') && /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (type === 'boolean' && (t === 'true' || t === 'false')) return t === 'true';
  return type === 'integer' || type === 'number' || type === '' ? t : String(text);
}

function cmpValue(cmp, type) {
  const op = cmp.operator;
  if (noValueOps.has(op)) return undefined;
  if (listOps.has(op)) {
    return cmp.v1
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => typed(s, type));
  }
  if (op === 'between') return [typed(cmp.v1, type), typed(cmp.v2, type)];
  if (dayOps.has(op)) return typed(cmp.v1, 'integer');
  return typed(cmp.v1, type);
}

function valueText(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function cmpFrom(op, value, ignoreCase) {
  const c = newCmp(op || 'equals');
  c.ignoreCase = !!ignoreCase;
  if (Array.isArray(value) && op === 'between') {
    c.v1 = valueText(value[0]);
    c.v2 = valueText(value[1]);
  } else if (Array.isArray(value)) {
    c.v1 = value.map(valueText).join(', ');
  } else c.v1 = valueText(value);
  return c;
}

/** toJSON turns the model into a definition and records problem paths. */
function toJSON(model, index) {
  const def = { name: model.name };
  if (model.displayName) def.displayName = model.displayName;
  if (model.description) def.description = model.description;
  def.type = model.type;
  if (model.timeZone) def.timeZone = model.timeZone;
  def.groups = model.groups.map((g, i) => {
    const p = `groups[${i}]`;
    if (index) index.set(p, `g${g.uid}`);
    const out = {};
    if (i > 0) out.setOperator = g.setOperator || 'union';
    out.condition = condJSON(g.block, `${p}.condition`, index, false);
    return out;
  });
  return def;
}

function wrapNot(item, path, index, build) {
  if (!item.negate) return build(path);
  return { not: build(`${path}.not`) };
}

function condJSON(item, path, index, inWhere) {
  const reg = () => index && index.set(path, `c${item.uid}`);
  switch (item.kind) {
    case 'block': {
      reg();
      return wrapNot(item, path, index, (p) => {
        if (item.items.length === 1 && !item.items[0].negate) return condJSON(item.items[0], p, index, inWhere);
        if (item.items.length === 1) return condJSON(item.items[0], p, index, inWhere);
        return { [item.logic]: item.items.map((c, i) => condJSON(c, `${p}.${item.logic}[${i}]`, index, inWhere)) };
      });
    }
    case 'pred': {
      const r = wrapNot(item, path, index, () => {
        const out = { attribute: item.attr.includes('.') ? item.attr : `${item.entity}.${item.attr}`, operator: item.cmp.operator };
        const v = cmpValue(item.cmp, attrType(item.entity, item.attr));
        if (v !== undefined) out.value = v;
        if (item.cmp.ignoreCase && caseOps.has(item.cmp.operator)) out.ignoreCase = true;
        return out;
      });
      reg();
      return r;
    }
    case 'related': {
      const r = wrapNot(item, path, index, (p) => {
        const out = { related: item.entity };
        if (item.path) out.path = item.path;
        if (item.where.items.length) out.where = condJSON(item.where, `${p}.where`, index, true);
        if (item.match === 'aggregate') {
          out.aggregate = { function: item.fn };
          if (item.fn !== 'count') out.aggregate.attribute = item.aggAttr.includes('.') ? item.aggAttr : `${item.entity}.${item.aggAttr}`;
          out.operator = item.cmp.operator;
          const v = cmpValue(item.cmp, aggType(item));
          if (v !== undefined) out.value = v;
        } else if (item.match !== 'any') out.match = item.match;
        return out;
      });
      reg();
      return r;
    }
    case 'segment': {
      reg();
      return wrapNot(item, path, index, () => (item.group ? { segment: item.name, group: item.group } : { segment: item.name }));
    }
    default: {
      reg();
      try {
        return JSON.parse(item.text);
      } catch {
        return item.text;
      }
    }
  }
}

function aggType(item) {
  if (item.fn === 'count' || item.fn === 'countDistinct') return 'integer';
  if (item.fn === 'sum' || item.fn === 'avg') return 'number';
  return attrType(item.entity, item.aggAttr);
}

/** fromJSON reads a definition into a model; what it cannot show stays raw. */
function fromJSON(def) {
  const m = newModel();
  m.name = def.name || '';
  m.displayName = def.displayName || '';
  m.description = def.description || '';
  m.type = def.type || 'dynamic';
  m.timeZone = def.timeZone || '';
  const groups = Array.isArray(def.groups) ? def.groups : [];
  m.groups = groups.map((g) => {
    let block = parseCond(g && g.condition, null);
    if (block.kind !== 'block') block = newBlock('and', [block]);
    return { uid: uid(), setOperator: (g && g.setOperator) || '', block };
  });
  if (!m.groups.length) m.groups = newModel().groups;
  return m;
}

function raw(c) {
  return { kind: 'raw', uid: uid(), negate: false, text: JSON.stringify(c, null, 2) };
}

function parseCond(c, whereEntity) {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return raw(c === undefined ? null : c);
  const keys = Object.keys(c);
  if (keys.length === 1 && (Array.isArray(c.and) || Array.isArray(c.or))) {
    const logic = c.and ? 'and' : 'or';
    return newBlock(logic, c[logic].map((x) => parseCond(x, whereEntity)));
  }
  if (keys.length === 1 && 'not' in c) {
    const inner = parseCond(c.not, whereEntity);
    if (inner.negate || inner.kind === 'raw') return raw(c);
    inner.negate = true;
    return inner;
  }
  if (typeof c.attribute === 'string') {
    const known = new Set(['attribute', 'operator', 'value', 'ignoreCase']);
    if (keys.some((k) => !known.has(k))) return raw(c);
    const dot = c.attribute.indexOf('.');
    const entity = dot > 0 ? c.attribute.slice(0, dot) : whereEntity || customerEntity();
    const attr = dot > 0 ? c.attribute.slice(dot + 1) : c.attribute;
    const pred = { kind: 'pred', uid: uid(), negate: false, entity, attr, cmp: cmpFrom(c.operator, c.value, c.ignoreCase) };
    if (whereEntity || entity === customerEntity() || entity === 'Measures' || !entityNames().includes(entity)) return pred;
    // A predicate on another entity is shorthand for a related condition.
    const r = newRelated(entity);
    r.where = newBlock('and', [pred]);
    return r;
  }
  if (typeof c.related === 'string' && !whereEntity) {
    const known = new Set(['related', 'path', 'where', 'match', 'aggregate', 'operator', 'value']);
    if (keys.some((k) => !known.has(k))) return raw(c);
    const r = newRelated(c.related);
    r.path = Array.isArray(c.path) ? c.path : null;
    if (c.where === undefined) r.where = newBlock('and', []);
    else {
      const w = parseCond(c.where, c.related);
      r.where = w.kind === 'block' ? w : newBlock('and', [w]);
      if (w.kind === 'raw') return raw(c);
    }
    if (c.aggregate && typeof c.aggregate === 'object') {
      // An aggregate the builder does not show (a countDistinct by calendar
      // period, say) stays raw JSON.
      if (Object.keys(c.aggregate).some((k) => k !== 'function' && k !== 'attribute')) return raw(c);
      r.match = 'aggregate';
      r.fn = c.aggregate.function || 'count';
      const a = c.aggregate.attribute || '';
      r.aggAttr = a.startsWith(`${c.related}.`) ? a.slice(c.related.length + 1) : a;
      r.cmp = cmpFrom(c.operator, c.value, false);
    } else r.match = c.match || 'any';
    return r;
  }
  const groupRef = keys.length === 2 && typeof c.group === 'string' && c.group !== '';
  if (typeof c.segment === 'string' && (keys.length === 1 || groupRef) && !whereEntity) {
    return { kind: 'segment', uid: uid(), negate: false, name: c.segment, group: groupRef ? c.group : '' };
  }
  return raw(c);
}

// ---- rendering ------------------------------------------------------------

function changed() {
  pending(true);
  scheduleValidate();
  // A preview of the edit is of the definition before this change.
  previewSeq++;
  $('b-edit-preview').replaceChildren();
}

/** pending marks the builder as waiting for the check of the latest edit. */
function pending(on) {
  $('view-builder').dataset.pending = String(on);
  $('view-builder').setAttribute('aria-busy', String(on));
}

function rerender() {
  const active = document.activeElement && document.activeElement.id;
  renderGroups();
  if (active && $(active)) $(active).focus();
  changed();
}

function renderGroups() {
  const box = $('groups');
  box.replaceChildren(...b.model.groups.map((g, i) => renderGroup(g, i)));
}

function renderGroup(g, i) {
  const groups = b.model.groups;
  const id = `g${g.uid}`;
  return h(
    'fieldset',
    { class: 'group', id, dataset: { group: i } },
    h('legend', null, `Group ${i + 1}`),
    i > 0
      ? h(
          'div',
          { class: 'inline' },
          h('label', { for: `${id}-setop` }, 'Combine with the groups above by'),
          h(
            'select',
            {
              id: `${id}-setop`,
              class: 'setop',
              onchange: (ev) => {
                g.setOperator = ev.target.value;
                changed();
              },
            },
            ['union', 'intersect', 'except'].map((o) => h('option', { value: o, selected: (g.setOperator || 'union') === o }, { union: 'Union (either)', intersect: 'Intersect (both)', except: 'Except (remove these)' }[o])),
          ),
        )
      : null,
    h('div', { class: 'row-problems', id: `p-${id}` }),
    renderBlock(g.block, null, null, true),
    h(
      'div',
      { class: 'inline' },
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          disabled: groups.length === 1,
          onclick: () => {
            groups.splice(i, 1);
            if (groups[0]) groups[0].setOperator = '';
            rerender();
          },
        },
        `Remove group ${i + 1}`,
      ),
    ),
  );
}

/** renderBlock renders an AND / OR list; whereEntity is set inside a related condition. */
function renderBlock(block, parent, whereEntity, top, onRemove) {
  const id = `c${block.uid}`;
  const logicName = `${id}-logic`;
  const items = block.items.map((item, i) => {
    const remove = () => {
      block.items.splice(i, 1);
      rerender();
    };
    const between = i > 0 ? h('div', { class: 'joiner', 'aria-hidden': 'true' }, block.logic.toUpperCase()) : null;
    return [between, item.kind === 'block' ? renderBlock(item, block, whereEntity, false, remove) : renderItem(item, whereEntity, remove)];
  });
  return h(
    'div',
    { class: `block ${top ? 'top' : 'nested'} logic-${block.logic}`, id, dataset: { uid: block.uid } },
    h(
      'div',
      { class: 'block-head inline' },
      notBox(block),
      h(
        'fieldset',
        { class: 'logic inline-fieldset' },
        h('legend', { class: 'sr-only' }, whereEntity ? 'Join these record conditions with' : 'Join these conditions with'),
        ['and', 'or'].map((l) =>
          h(
            'label',
            null,
            h('input', {
              type: 'radio',
              name: logicName,
              value: l,
              id: `${id}-${l}`,
              checked: block.logic === l,
              onchange: () => {
                block.logic = l;
                rerender();
              },
            }),
            ` ${l.toUpperCase()}`,
          ),
        ),
      ),
      !top ? h('button', { type: 'button', class: 'link danger', onclick: onRemove }, 'Remove nested group') : null,
    ),
    h('div', { class: 'row-problems', id: `p-${id}` }),
    h('div', { class: 'items' }, items),
    h(
      'div',
      { class: 'inline add' },
      h(
        'button',
        {
          type: 'button',
          class: 'add-condition',
          onclick: () => {
            block.items.push(newPred(whereEntity || customerEntity()));
            rerender();
          },
        },
        whereEntity ? '+ Record condition' : '+ Condition',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'add-nested',
          onclick: () => {
            const other = block.logic === 'and' ? 'or' : 'and';
            block.items.push(newBlock(other, [newPred(whereEntity || customerEntity())]));
            rerender();
          },
        },
        `+ Nested ${block.logic === 'and' ? 'OR' : 'AND'}`,
      ),
    ),
  );
}

function notBox(item) {
  return h(
    'label',
    { class: 'not' },
    h('input', {
      type: 'checkbox',
      id: `c${item.uid}-not`,
      checked: item.negate,
      onchange: (ev) => {
        item.negate = ev.target.checked;
        changed();
      },
    }),
    ' NOT',
  );
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

function entitySelect(item) {
  const id = `c${item.uid}-entity`;
  const current = item.kind === 'segment' ? '#segment' : item.kind === 'raw' ? '#json' : item.entity;
  const opts = [
    h('option', { value: customerEntity() }, `${customerEntity()} (profile)`),
    measures().length ? h('option', { value: 'Measures' }, 'Measures') : null,
    h('optgroup', { label: 'Related entities' }, relatedEntities().map((e) => h('option', { value: e }, e))),
    h('option', { value: '#segment' }, 'Segment membership'),
    h('option', { value: '#json' }, 'JSON condition'),
  ];
  const sel = h('select', { id, class: 'entity' }, opts);
  sel.value = current;
  if (sel.value !== current) {
    sel.append(h('option', { value: current }, current));
    sel.value = current;
  }
  sel.addEventListener('change', () => convertItem(item, sel.value));
  return field(id, 'Entity', sel);
}

function convertItem(item, entity) {
  const json = item.kind === 'raw' ? null : condJSON(item, '', null, false);
  let next;
  if (entity === '#segment') next = { kind: 'segment', uid: uid(), negate: item.negate, name: '', group: '' };
  else if (entity === '#json') next = { kind: 'raw', uid: uid(), negate: false, text: JSON.stringify(json || {}, null, 2) };
  else if (entity === customerEntity() || entity === 'Measures') next = newPred(entity);
  else next = newRelated(entity);
  next.uid = item.uid;
  for (const k of Object.keys(item)) delete item[k];
  Object.assign(item, next);
  rerender();
}

function attrInput(item, key, entity, label) {
  const id = `c${item.uid}-${key}`;
  const input = h('input', {
    id,
    class: `attr ${key}`,
    list: `attrs-${entity}`,
    value: item[key],
    autocomplete: 'off',
    placeholder: attrsOf(entity)[0] ? attrsOf(entity)[0].name : 'Attribute',
  });
  input.addEventListener('input', () => {
    const before = key === 'attr' ? attrType(item.entity, item[key]) : aggType(item);
    item[key] = input.value.trim();
    const after = key === 'attr' ? attrType(item.entity, item[key]) : aggType(item);
    if (before !== after) refreshCmp(item);
    changed();
  });
  return field(id, label || 'Attribute', input);
}

function refreshCmp(item) {
  const box = $(`c${item.uid}-cmp`);
  if (box) box.replaceWith(renderCmp(item));
}

/** renderCmp renders the operator and value of a predicate or an aggregate. */
function renderCmp(item) {
  const type = item.kind === 'related' ? aggType(item) : attrType(item.entity, item.attr);
  const cmp = item.cmp;
  const id = `c${item.uid}`;
  const ops = opsFor(type);
  const opSel = h(
    'select',
    { id: `${id}-op`, class: 'operator' },
    (ops.includes(cmp.operator) ? ops : [cmp.operator, ...ops]).map((o) => h('option', { value: o, selected: o === cmp.operator }, opLabels[o] || o)),
  );
  opSel.addEventListener('change', () => {
    cmp.operator = opSel.value;
    refreshCmp(item);
    $(`${id}-op`).focus();
    changed();
  });
  const valueInput = (n, label, attrs = {}) => {
    const key = n === 1 ? 'v1' : 'v2';
    const vid = `${id}-value${n === 1 ? '' : '2'}`;
    const inp = h('input', { id: vid, class: `value value${n}`, value: cmp[key], autocomplete: 'off', ...attrs });
    inp.addEventListener('input', () => {
      cmp[key] = inp.value;
      changed();
    });
    return field(vid, label, inp);
  };
  const op = cmp.operator;
  let value = null;
  if (noValueOps.has(op)) value = null;
  else if (op === 'between') value = [valueInput(1, 'From', { type: type === 'date' ? 'date' : 'text' }), valueInput(2, 'To', { type: type === 'date' ? 'date' : 'text' })];
  else if (listOps.has(op)) value = valueInput(1, 'Values (comma separated)', { placeholder: 'a, b, c' });
  else if (dayOps.has(op)) value = valueInput(1, 'Days', { type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  else if (type === 'boolean') {
    if (cmp.v1 !== 'true' && cmp.v1 !== 'false') cmp.v1 = 'true';
    const vs = h('select', { id: `${id}-value`, class: 'value value1' }, ['true', 'false'].map((v) => h('option', { value: v, selected: cmp.v1 === v }, v)));
    vs.addEventListener('change', () => {
      cmp.v1 = vs.value;
      changed();
    });
    value = field(`${id}-value`, 'Value', vs);
  } else if (type === 'date') value = valueInput(1, 'Value', { type: 'date' });
  else value = valueInput(1, 'Value', { inputmode: type === 'integer' || type === 'number' ? 'decimal' : null, placeholder: type === 'datetime' ? '2026-06-30T12:00:00Z' : null });
  const ic =
    type === 'string' && caseOps.has(op)
      ? h(
          'label',
          { class: 'ignore-case' },
          h('input', {
            type: 'checkbox',
            id: `${id}-ic`,
            checked: cmp.ignoreCase,
            onchange: (ev) => {
              cmp.ignoreCase = ev.target.checked;
              changed();
            },
          }),
          ' ignore case',
        )
      : null;
  return h('div', { class: 'cmp inline', id: `${id}-cmp` }, field(`${id}-op`, 'Operator', opSel), value, ic);
}

function removeButton(remove, what) {
  return h('button', { type: 'button', class: 'link danger remove', onclick: remove, 'aria-label': `Remove this ${what}` }, 'Remove');
}

function renderItem(item, whereEntity, remove) {
  const id = `c${item.uid}`;
  const problems = h('div', { class: 'row-problems', id: `p-${id}` });
  if (item.kind === 'pred') {
    return h(
      'div',
      { class: 'cond pred', id, dataset: { uid: item.uid, kind: 'pred' } },
      h('div', { class: 'inline' }, notBox(item), whereEntity ? null : entitySelect(item), attrInput(item, 'attr', item.entity), renderCmp(item), removeButton(remove, 'condition')),
      problems,
    );
  }
  if (item.kind === 'related') {
    const paths = pathsOf(item.entity);
    const pid = `${id}-path`;
    const pathSel =
      paths.length > 1 || item.path
        ? field(
            pid,
            'Relationship path',
            h(
              'select',
              {
                id: pid,
                class: 'path',
                onchange: (ev) => {
                  item.path = ev.target.value ? JSON.parse(ev.target.value) : null;
                  changed();
                },
              },
              paths.length === 1 ? h('option', { value: '' }, `${paths[0].join(' → ')} (the only one)`) : h('option', { value: '' }, 'Choose a path'),
              paths.map((p) => h('option', { value: JSON.stringify(p), selected: JSON.stringify(p) === JSON.stringify(item.path) }, p.join(' → '))),
            ),
          )
        : paths.length === 1
          ? h('p', { class: 'muted small path-note' }, `via ${paths[0].join(' → ')} to ${customerEntity()}`)
          : null;
    const mid = `${id}-match`;
    const matchSel = h(
      'select',
      { id: mid, class: 'match' },
      Object.entries(matchLabels).map(([v, l]) => h('option', { value: v, selected: item.match === v }, l)),
    );
    matchSel.addEventListener('change', () => {
      item.match = matchSel.value;
      rerender();
    });
    let agg = null;
    if (item.match === 'aggregate') {
      const fid = `${id}-fn`;
      const fnSel = h('select', { id: fid, class: 'fn' }, aggFuncs.map((f) => h('option', { value: f, selected: item.fn === f }, f)));
      fnSel.addEventListener('change', () => {
        item.fn = fnSel.value;
        rerender();
      });
      agg = h('div', { class: 'inline aggregate' }, field(fid, 'Function', fnSel), item.fn === 'count' ? null : attrInput(item, 'aggAttr', item.entity, 'Of attribute'), renderCmp(item));
    }
    return h(
      'div',
      { class: 'cond related', id, dataset: { uid: item.uid, kind: 'related' } },
      h('div', { class: 'inline' }, notBox(item), entitySelect(item), pathSel, removeButton(remove, 'condition')),
      problems,
      h('div', { class: 'where' }, h('p', { class: 'small' }, `${item.entity} records where`), renderBlock(item.where, item, item.entity, true)),
      h('div', { class: 'inline' }, field(mid, `Customers who have`, matchSel)),
      agg,
    );
  }
  if (item.kind === 'segment') {
    const sid = `${id}-segment`;
    const inp = h('input', { id: sid, class: 'segment-name', list: 'segment-names', value: item.name, autocomplete: 'off' });
    inp.addEventListener('input', () => {
      item.name = inp.value.trim();
      changed();
    });
    // A group of the segment's split (docs/format.md section 14).
    const gid = `${id}-group`;
    const ginp = h('input', { id: gid, class: 'segment-group', value: item.group || '', autocomplete: 'off', placeholder: 'all of it' });
    ginp.addEventListener('input', () => {
      item.group = ginp.value.trim();
      changed();
    });
    return h(
      'div',
      { class: 'cond segment', id, dataset: { uid: item.uid, kind: 'segment' } },
      h('div', { class: 'inline' }, notBox(item), entitySelect(item), field(sid, 'Member of segment', inp), field(gid, 'Group of its split (optional)', ginp), removeButton(remove, 'condition')),
      problems,
    );
  }
  const tid = `${id}-json`;
  const ta = h('textarea', { id: tid, class: 'code raw', rows: Math.min(12, item.text.split('\n').length + 1), spellcheck: 'false' });
  ta.value = item.text;
  ta.addEventListener('input', () => {
    item.text = ta.value;
    changed();
  });
  return h(
    'div',
    { class: 'cond raw', id, dataset: { uid: item.uid, kind: 'raw' } },
    h('div', { class: 'inline' }, whereEntity ? null : entitySelect(item), field(tid, 'Condition as JSON', ta), removeButton(remove, 'condition')),
    problems,
  );
}

function renderDatalists() {
  const box = $('builder-datalists') || document.body.appendChild(h('div', { id: 'builder-datalists', hidden: true }));
  const ents = [...entityNames(), ...(measures().length ? ['Measures'] : [])];
  box.replaceChildren(...ents.map((e) => h('datalist', { id: `attrs-${e}` }, attrsOf(e).map((a) => h('option', { value: a.name }, `${a.name} (${a.type})`)))));
}

// ---- header fields, modes --------------------------------------------------

function readHeader() {
  const m = b.model;
  m.name = $('b-name').value.trim();
  m.displayName = $('b-display').value;
  m.description = $('b-description').value;
  m.type = document.querySelector('input[name="b-type"]:checked').value;
  m.timeZone = $('b-timezone').value.trim();
}

function writeHeader() {
  const m = b.model;
  $('b-name').value = m.name;
  $('b-display').value = m.displayName;
  $('b-description').value = m.description;
  $('b-timezone').value = m.timeZone || '';
  for (const r of document.querySelectorAll('input[name="b-type"]')) r.checked = r.value === (m.type === 'static' ? 'static' : 'dynamic');
}

for (const id of ['b-name', 'b-display', 'b-description', 'b-timezone']) {
  $(id).addEventListener('input', () => {
    if (!b.model) return;
    readHeader();
    syncHeaderToJSON();
    changed();
  });
}
for (const r of document.querySelectorAll('input[name="b-type"]')) {
  r.addEventListener('change', () => {
    readHeader();
    syncHeaderToJSON();
    changed();
  });
}

function syncHeaderToJSON() {
  if (b.mode !== 'json') return;
  try {
    const def = JSON.parse($('json-text').value);
    const m = b.model;
    def.name = m.name;
    if (m.displayName) def.displayName = m.displayName;
    else delete def.displayName;
    if (m.description) def.description = m.description;
    else delete def.description;
    def.type = m.type;
    if (m.timeZone) def.timeZone = m.timeZone;
    else delete def.timeZone;
    $('json-text').value = JSON.stringify(def, null, 2);
  } catch {
    // Leave text that does not parse as it is.
  }
}

function setMode(mode) {
  if (mode === b.mode) return;
  if (mode === 'json') {
    $('json-text').value = JSON.stringify(toJSON(b.model), null, 2);
  } else {
    let def;
    try {
      def = JSON.parse($('json-text').value);
    } catch (err) {
      renderTopProblems([{ message: `The JSON does not parse, so the builder cannot show it: ${err.message}` }]);
      return;
    }
    if (!def || typeof def !== 'object' || Array.isArray(def)) {
      renderTopProblems([{ message: 'A definition is a JSON object.' }]);
      return;
    }
    b.model = fromJSON(def);
    if (b.editing) b.model.name = b.editing;
    writeHeader();
    renderGroups();
  }
  b.mode = mode;
  $('tab-builder').setAttribute('aria-selected', String(mode === 'builder'));
  $('tab-json').setAttribute('aria-selected', String(mode === 'json'));
  $('builder-pane').hidden = mode !== 'builder';
  $('json-pane').hidden = mode !== 'json';
  $('add-group').hidden = mode !== 'builder';
  changed();
}

$('tab-builder').addEventListener('click', () => setMode('builder'));
$('tab-json').addEventListener('click', () => setMode('json'));
for (const [id, next] of [
  ['tab-builder', 'tab-json'],
  ['tab-json', 'tab-builder'],
]) {
  $(id).addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      ev.preventDefault();
      $(next).focus();
      $(next).click();
    }
  });
}
$('json-text').addEventListener('input', () => {
  try {
    const def = JSON.parse($('json-text').value);
    if (def && typeof def === 'object') {
      b.model.name = b.editing || def.name || '';
      b.model.displayName = def.displayName || '';
      b.model.description = def.description || '';
      b.model.type = def.type || 'dynamic';
      b.model.timeZone = def.timeZone || '';
      writeHeader();
    }
  } catch {
    // Validation reports it.
  }
  changed();
});

$('add-group').addEventListener('click', () => {
  b.model.groups.push({ uid: uid(), setOperator: 'union', block: newBlock('and', [newPred()]) });
  rerender();
  const last = b.model.groups[b.model.groups.length - 1];
  $(`g${last.uid}-setop`).focus();
});

/** currentDefinition returns the definition being edited, or throws a SyntaxError. */
function currentDefinition(index) {
  if (b.mode === 'json') {
    const def = JSON.parse($('json-text').value);
    if (b.editing && def && typeof def === 'object') def.name = b.editing;
    return def;
  }
  return toJSON(b.model, index);
}

// ---- validation and estimate ----------------------------------------------

const scheduleValidate = debounce(validate, 350);

function clearProblems() {
  for (const el of document.querySelectorAll('#view-builder .row-problems')) el.replaceChildren();
  for (const el of document.querySelectorAll('#view-builder .has-problem')) el.classList.remove('has-problem');
  $('builder-problems').replaceChildren();
}

function renderTopProblems(problems) {
  const box = $('builder-problems');
  box.replaceChildren();
  if (problems.length) box.append(h('h2', { class: 'small-heading' }, 'Problems'), problemList(problems, applySuggestion));
}

/** placeFor returns the problems container for a problem path. */
function placeFor(path) {
  if (!path || b.mode === 'json') return null;
  if (path === 'name' || path.startsWith('name.')) return document.querySelector('#view-builder .row-problems[data-path="name"]');
  if (path === 'timeZone') return document.querySelector('#view-builder .row-problems[data-path="timeZone"]');
  let best = '';
  for (const k of b.pathIndex.keys()) {
    if ((path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`)) && k.length > best.length) best = k;
  }
  return best ? $(`p-${b.pathIndex.get(best)}`) : null;
}

function renderProblems(problems) {
  clearProblems();
  const top = [];
  const byPlace = new Map();
  for (const p of problems) {
    const place = placeFor(p.path);
    if (!place) {
      top.push(p);
      continue;
    }
    if (!byPlace.has(place)) byPlace.set(place, []);
    byPlace.get(place).push(p);
  }
  for (const [place, ps] of byPlace) {
    place.append(problemList(ps, applySuggestion));
    place.parentElement.classList.add('has-problem');
    place.setAttribute('role', 'alert');
  }
  renderTopProblems(top);
}

/** applySuggestion puts a problem's suggestion where the problem is. */
function applySuggestion(p) {
  if (b.mode === 'json') {
    const ta = $('json-text');
    const bad = (p.message.match(/"([^"]+)"/) || [])[1];
    const sugAttr = p.suggestion.slice(p.suggestion.lastIndexOf('.') + 1);
    if (bad && ta.value.includes(`"${bad}"`)) ta.value = ta.value.replace(`"${bad}"`, `"${p.suggestion}"`);
    else if (bad && ta.value.includes(`.${bad}"`)) ta.value = ta.value.replace(`.${bad}"`, `.${sugAttr}"`);
    changed();
    return;
  }
  const place = placeFor(p.path);
  const row = place && place.closest('.cond');
  if (!row) return;
  const item = findItem(Number(row.dataset.uid));
  if (!item) return;
  const sug = p.suggestion;
  const dot = sug.indexOf('.');
  if (/aggregate/.test(p.path) && item.kind === 'related') item.aggAttr = dot > 0 && sug.slice(0, dot) === item.entity ? sug.slice(dot + 1) : sug;
  else if (item.kind === 'pred') {
    if (dot > 0) {
      const ent = sug.slice(0, dot);
      if (ent === item.entity) item.attr = sug.slice(dot + 1);
      else if (ent === customerEntity() || ent === 'Measures') {
        item.entity = ent;
        item.attr = sug.slice(dot + 1);
      } else item.attr = sug;
    } else item.attr = sug;
  } else if (item.kind === 'segment') {
    if (/\.group$/.test(p.path)) item.group = sug;
    else item.name = sug;
  }
  else if (item.kind === 'related' && /related$/.test(p.path)) item.entity = sug;
  rerender();
}

function findItem(id, blocks) {
  const list = blocks || b.model.groups.map((g) => g.block);
  for (const bl of list) {
    if (bl.uid === id) return bl;
    for (const it of bl.items) {
      if (it.uid === id) return it;
      if (it.kind === 'block') {
        const f = findItem(id, [it]);
        if (f) return f;
      }
      if (it.kind === 'related') {
        const f = findItem(id, [it.where]);
        if (f) return f;
      }
    }
  }
  return null;
}

async function validate() {
  if (!b.model) return;
  const seq = ++b.seq;
  const index = new Map();
  let def;
  try {
    def = currentDefinition(index);
  } catch (err) {
    clearProblems();
    renderTopProblems([{ message: `The JSON does not parse: ${err.message}` }]);
    setEstimate(null, 'Fix the JSON first.');
    $('validity').textContent = 'The JSON does not parse.';
    pending(false);
    return;
  }
  b.pathIndex = index;
  b.lastDefinition = def;
  $('validity').textContent = 'Checking…';
  let res;
  try {
    res = await post(`/api/validate${query({ editing: b.editing })}`, { definition: def });
  } catch (err) {
    if (seq !== b.seq) return;
    clearProblems();
    renderTopProblems(err.problems && err.problems.length ? err.problems : [{ message: err.detail || err.message }]);
    $('validity').textContent = 'The definition could not be checked.';
    pending(false);
    return;
  }
  if (seq !== b.seq) return;
  const problems = res.problems || [];
  renderProblems(problems);
  document.getElementById('view-builder').dataset.valid = String(!!res.valid);
  if (!res.valid) {
    $('validity').textContent = `${problems.length} problem${problems.length === 1 ? '' : 's'}: saving keeps it as a draft.`;
    setEstimate(null, 'Fix the problems to see the size.');
    pending(false);
    return;
  }
  $('validity').textContent = 'The definition is valid.';
  setEstimate(null, 'Estimating…');
  try {
    const est = await post('/api/evaluate', { definition: def, first: 0 });
    if (seq !== b.seq) return;
    setEstimate(est);
  } catch (err) {
    if (seq !== b.seq) return;
    if (err.problems && err.problems.length) renderProblems(err.problems);
    setEstimate(null, `No estimate: ${err.detail || err.message}`);
  }
  if (seq === b.seq) pending(false);
}

function setEstimate(est, text) {
  const el = $('estimate');
  if (!est) {
    el.textContent = text || '—';
    delete el.dataset.members;
    delete el.dataset.asOf;
    return;
  }
  const share = est.customers ? ` (${((100 * est.members) / est.customers).toFixed(1)} %)` : '';
  el.replaceChildren(h('strong', { class: 'estimate-members' }, num(est.members)), ` of ${num(est.customers)} customers${share}`);
  if (est.asOf) el.append(h('span', { class: 'muted small' }, ` as of ${new Date(est.asOf).toLocaleString()}`));
  el.dataset.members = String(est.members);
  el.dataset.asOf = est.asOf || '';
}

// ---- save -----------------------------------------------------------------

async function save(activate) {
  showError(null);
  readHeader();
  let def;
  try {
    def = currentDefinition();
  } catch (err) {
    showError(new ProblemError(0, { title: 'The JSON does not parse', detail: err.message }));
    return;
  }
  $('b-saved').textContent = 'Saving…';
  try {
    let res;
    if (b.editing) {
      res = await put(seg(b.editing), { definition: def });
    } else {
      res = await post('/api/segments', { definition: def, active: !!activate });
    }
    const s = res.segment || res;
    let msg;
    if (s.state === 'draft') {
      const n = (s.problems || []).length;
      msg = `Saved ${s.name} as a draft: ${n} problem${n === 1 ? '' : 's'} to fix before it can be activated.`;
    } else msg = `Saved ${s.name} (${s.state}).`;
    $('b-saved').textContent = msg;
    if (b.editing && activate && s.state !== 'draft' && s.state !== 'active') {
      const a = await post(seg(s.name, '/activate'), {});
      if (a && a.job) await runJob(a.job, `Activate ${s.name}`);
    } else if (activate && s.state !== 'draft') {
      const jobId = (res.job && res.job.id) || s.lastJob;
      if (jobId) await runJob(res.job || { id: jobId, status: 'refreshing' }, `Activate ${s.name}`);
    }
    say(msg);
    b.editing = null;
    go(`#/segments/${encodeURIComponent(s.name)}`);
  } catch (err) {
    $('b-saved').textContent = 'Not saved.';
    showError(err);
    if (err.problems && err.problems.length) renderProblems(err.problems);
  }
}

$('builder-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  save(false);
});
$('b-save-activate').addEventListener('click', () => save(true));

// ---- the edit's preview ---------------------------------------------------------

/** previewEdit shows who the edited definition would add to and remove from
 * the segment's current members, without saving it. */
async function previewEdit() {
  if (!b.editing) return;
  readHeader();
  const out = $('b-edit-preview');
  let def;
  try {
    def = currentDefinition();
  } catch (err) {
    out.replaceChildren(problemBox(new ProblemError(0, { title: 'The JSON does not parse', detail: err.message })));
    return;
  }
  out.replaceChildren(h('p', { class: 'muted' }, 'Comparing with the current members…'));
  const seq = ++previewSeq;
  try {
    const p = await post(seg(b.editing, '/edit-preview'), { definition: def, samples: 10 });
    if (seq !== previewSeq) return;
    const keys = (label, count, list, testid) => h('div', { class: 'edit-change', dataset: { testid } },
      h('strong', null, `${label}: ${num(count)}`),
      list.length ? h('span', null, ` (${count > list.length ? `first ${list.length}: ` : ''}${list.join(', ')})`) : null);
    const current = p.refreshed ? `its ${num(p.current)} current members` : 'no current members (it was never refreshed)';
    out.replaceChildren(
      h('p', { dataset: { testid: 'edit-summary' } }, `Not saved: ${num(p.members)} members as of ${fmtTime(p.asOf)}, against ${current}.`),
      keys('Would add', p.added, p.addedKeys || [], 'edit-added'),
      keys('Would remove', p.removed, p.removedKeys || [], 'edit-removed'),
    );
  } catch (err) {
    if (seq !== previewSeq) return;
    out.replaceChildren(problemBox(err));
    if (err.problems && err.problems.length) renderProblems(err.problems);
  }
}

$('b-preview-edit').addEventListener('click', previewEdit);

// ---- entry points -----------------------------------------------------------

/** openBuilder shows the builder for a new segment (name null) or an existing one. */
export async function openBuilder(name) {
  b.seq++;
  b.mode = 'builder';
  $('tab-builder').setAttribute('aria-selected', 'true');
  $('tab-json').setAttribute('aria-selected', 'false');
  $('builder-pane').hidden = false;
  $('json-pane').hidden = true;
  $('add-group').hidden = false;
  $('b-saved').textContent = '';
  $('b-edit-preview').replaceChildren();
  $('b-preview-edit').hidden = !name;
  clearProblems();
  setEstimate(null, '—');
  $('validity').textContent = '';
  try {
    b.data = await app.schemaData();
  } catch (err) {
    showError(err);
    b.data = { schema: { entities: [] }, paths: {}, operators: {} };
  }
  renderDatalists();
  loadSegmentNames();
  b.editing = name;
  $('builder-title').textContent = name ? `Edit ${name}` : 'New segment';
  $('b-name').readOnly = !!name;
  if (!name) {
    b.model = newModel();
  } else {
    try {
      const s = await get(seg(name));
      if (typeof s.definition === 'string') {
        b.model = newModel();
        b.model.name = name;
        writeHeader();
        renderGroups();
        $('json-text').value = s.definition;
        b.mode = 'json';
        $('tab-builder').setAttribute('aria-selected', 'false');
        $('tab-json').setAttribute('aria-selected', 'true');
        $('builder-pane').hidden = true;
        $('json-pane').hidden = false;
        changed();
        return;
      }
      b.model = fromJSON(s.definition || {});
      b.model.name = name;
    } catch (err) {
      showError(err);
      b.model = newModel();
    }
  }
  writeHeader();
  renderGroups();
  changed();
  if (!name) $('b-name').focus();
}

async function loadSegmentNames() {
  try {
    const res = await get('/api/segments?limit=1000&sort=name');
    $('segment-names').replaceChildren(...(res.segments || []).map((s) => h('option', { value: s.name })));
  } catch {
    // The list only helps typing.
  }
}

/** leaveBuilder stops pending validation. */
export function leaveBuilder() {
  b.seq++;
  b.model = null;
}
