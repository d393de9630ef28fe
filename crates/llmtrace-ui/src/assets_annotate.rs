//! The annotation script, served at `/ui/annotate.js`: the trace page's score and dataset forms
//! (keys `a`, `s`, `d`; Enter saves; Esc leaves), edit and delete of a score, the dataset
//! items' expected output, the score configs and the new-dataset forms. Each posts to the JSON
//! API with `fetch` (same origin, JSON body) and reloads the page to show what was stored.

/// The script (no dependency; runs on every page, acts on the forms it finds).
pub const ANNOTATE_SCRIPT: &str = r#"
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }
  function status(form, text, bad) {
    var s = form && form.querySelector('.status');
    if (!s) return;
    s.textContent = text;
    s.classList.toggle('error', !!bad);
  }
  // Sends JSON to the API; resolves with the response's JSON (or null), rejects with its error.
  function api(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (!r.ok) throw new Error((j && (j.error || j.message)) || t || ('HTTP ' + r.status));
        return j;
      });
    });
  }
  function selectedSpan() {
    var a = $('#detail article.span-detail');
    return a ? a.dataset.span : null;
  }
  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName));
  }

  // --- The score form of the trace page ---
  var form = $('#annotate-form');
  var configs = [];
  if (form) { try { configs = JSON.parse(form.dataset.configs || '[]'); } catch (e) { configs = []; } }
  function config(name) { for (var i = 0; i < configs.length; i++) if (configs[i].name === name) return configs[i]; return null; }
  function nameChanged() {
    var c = config(form.elements.name.value.trim()), list = $('#score-values'), hint = form.querySelector('.hint');
    list.innerHTML = '';
    var values = !c ? [] : c.data_type === 'CATEGORICAL' ? c.categories : c.data_type === 'BOOLEAN' ? ['true', 'false'] : [];
    values.forEach(function (v) { var o = document.createElement('option'); o.value = v; list.appendChild(o); });
    var text = '';
    if (c && c.data_type === 'NUMERIC') text = 'a number' + (c.min != null ? ' from ' + c.min : '') + (c.max != null ? ' to ' + c.max : '');
    else if (c && c.data_type === 'CATEGORICAL') text = 'one of: ' + c.categories.join(', ');
    else if (c && c.data_type === 'BOOLEAN') text = 'true or false';
    if (c && c.description) text += (text ? ' · ' : '') + c.description;
    hint.textContent = text;
  }
  // The value field as the API takes it: `value` (number or boolean) or `label`.
  function valueOf(name, raw) {
    var c = config(name), low = raw.toLowerCase();
    var bool = { 'true': true, 'yes': true, '1': true, 'false': false, 'no': false, '0': false };
    if (c && c.data_type === 'CATEGORICAL') return { label: raw };
    if (c && c.data_type === 'BOOLEAN') {
      if (!(low in bool)) throw new Error(name + ' takes true or false');
      return { value: bool[low] };
    }
    if (raw !== '' && isFinite(Number(raw))) return { value: Number(raw) };
    if (c && c.data_type === 'NUMERIC') throw new Error(name + ' takes a number');
    if (low === 'true' || low === 'false') return { value: low === 'true' };
    return { label: raw };
  }
  function openForm(about, focusValue) {
    form.elements.about.value = about;
    var field = (focusValue && form.elements.name.value) ? form.elements.value : form.elements.name;
    form.scrollIntoView({ block: 'nearest' });
    field.focus();
  }
  if (form) {
    form.elements.name.addEventListener('input', nameChanged);
    form.addEventListener('reset', function () { form.elements.id.value = ''; form.dataset.span = ''; status(form, ''); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = form.elements.name.value.trim(), body;
      try {
        body = valueOf(name, form.elements.value.value.trim());
      } catch (err) { status(form, err.message, true); return; }
      body.trace_id = form.dataset.trace;
      body.name = name;
      body.source = 'ANNOTATION';
      var comment = form.elements.comment.value.trim();
      if (comment) body.comment = comment;
      if (form.elements.id.value) body.id = form.elements.id.value;
      if (form.elements.about.value === 'span') {
        var span = form.dataset.span || selectedSpan();
        if (!span) { status(form, 'Select a span first', true); return; }
        body.span_id = span;
      }
      status(form, 'Saving…');
      api('POST', '/api/scores', body)
        .then(function () { status(form, 'Saved'); location.reload(); })
        .catch(function (err) { status(form, err.message, true); });
    });
    if (form.dataset.open) { nameChanged(); openForm('trace', true); }
  }
  document.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('.score-edit, .score-delete') : null;
    if (!b || !form) return;
    var li = b.closest('li.score');
    e.preventDefault();
    if (b.classList.contains('score-delete')) {
      api('DELETE', '/api/scores/' + encodeURIComponent(li.dataset.id))
        .then(function () { location.reload(); })
        .catch(function (err) { status(form, err.message, true); });
      return;
    }
    form.elements.id.value = li.dataset.id;
    form.elements.name.value = li.dataset.name;
    form.elements.value.value = li.dataset.value;
    form.elements.comment.value = li.dataset.comment;
    form.dataset.span = li.dataset.span;
    nameChanged();
    status(form, 'Editing ' + li.dataset.name);
    openForm(li.dataset.span ? 'span' : 'trace', true);
  });

  // --- The dataset form of the trace page ---
  var dform = $('#dataset-form');
  if (dform) {
    dform.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = dform.elements.dataset_name.value.trim(), known = [];
      try { known = JSON.parse(dform.dataset.datasets || '[]'); } catch (err) { known = []; }
      var item = { trace_id: dform.dataset.trace };
      if (dform.elements.about.value === 'span') {
        var span = selectedSpan();
        if (!span) { status(dform, 'Select a span first', true); return; }
        item.span_id = span;
      }
      var expected = dform.elements.expected_output.value;
      if (expected.trim()) item.expected_output = expected;
      var url = '/api/datasets/' + encodeURIComponent(name) + '/items';
      status(dform, 'Adding…');
      var first = known.indexOf(name) >= 0 ? Promise.resolve() : api('POST', '/api/datasets', { name: name });
      first.then(function () { return api('POST', url, item); })
        .then(function () {
          if (known.indexOf(name) < 0) { known.push(name); dform.dataset.datasets = JSON.stringify(known); }
          var s = dform.querySelector('.status'), a = document.createElement('a');
          s.textContent = 'Added to ';
          s.classList.remove('error');
          a.href = '/datasets/' + encodeURIComponent(name);
          a.textContent = name;
          s.appendChild(a);
        })
        .catch(function (err) { status(dform, err.message, true); });
    });
  }
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && typing(e.target) && e.target.form && (e.target.form === form || e.target.form === dform)) { e.target.blur(); return; }
    if (typing(e.target) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (form && (e.key === 'a' || e.key === 's')) {
      e.preventDefault();
      if (e.key === 's' && !selectedSpan()) { status(form, 'Select a span first', true); return; }
      form.dataset.span = '';
      openForm(e.key === 'a' ? 'trace' : 'span', true);
    } else if (dform && e.key === 'd') {
      e.preventDefault();
      dform.elements.about.value = selectedSpan() ? 'span' : 'trace';
      dform.scrollIntoView({ block: 'nearest' });
      dform.elements.dataset_name.focus();
    }
  });

  // --- The datasets pages ---
  var nd = $('#new-dataset');
  if (nd) nd.addEventListener('submit', function (e) {
    e.preventDefault();
    var d = { name: nd.elements.name.value.trim() };
    if (nd.elements.description.value.trim()) d.description = nd.elements.description.value.trim();
    api('POST', '/api/datasets', d).then(function () { location.reload(); })
      .catch(function (err) { status(nd, err.message, true); });
  });
  document.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('.item-save, .item-delete') : null;
    if (!b) return;
    var row = b.closest('tr.item'), base = '/api/datasets/' + encodeURIComponent(row.dataset.dataset) + '/items';
    if (b.classList.contains('item-delete')) {
      api('DELETE', base + '/' + encodeURIComponent(row.dataset.id)).then(function () { row.remove(); })
        .catch(function (err) { status(row, err.message, true); });
      return;
    }
    var item = JSON.parse(row.dataset.item), body = { id: item.id, metadata: item.metadata };
    if (item.trace_id) { body.trace_id = item.trace_id; if (item.span_id) body.span_id = item.span_id; }
    else { body.input = item.input; body.output = item.output; }
    var expected = row.querySelector('textarea.expected').value;
    body.expected_output = expected.trim() ? expected : null;
    status(row, 'Saving…');
    api('POST', base, body).then(function () { status(row, 'Saved'); })
      .catch(function (err) { status(row, err.message, true); });
  });

  // --- The score configs page ---
  var cf = $('#config-form');
  if (cf) cf.addEventListener('submit', function (e) {
    e.preventDefault();
    var el = cf.elements, c = { name: el.name.value.trim(), data_type: el.data_type.value };
    if (c.data_type === 'NUMERIC') {
      if (el.min.value.trim()) c.min = Number(el.min.value);
      if (el.max.value.trim()) c.max = Number(el.max.value);
    }
    if (c.data_type === 'CATEGORICAL') c.categories = el.categories.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
    if (el.description.value.trim()) c.description = el.description.value.trim();
    api('POST', '/api/score-configs', c).then(function () { location.reload(); })
      .catch(function (err) { status(cf, err.message, true); });
  });
  document.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('.config-delete') : null;
    if (!b) return;
    api('DELETE', '/api/score-configs/' + encodeURIComponent(b.closest('tr').dataset.name))
      .then(function () { location.reload(); })
      .catch(function (err) { status(cf, err.message, true); });
  });
})();
"#;
