//! The explorer's styles and script: themes, the phone layout, local times, copy buttons,
//! filter suggestions, search snippets, list auto-refresh, and the trace tree's tools (expand
//! and collapse all, jump between errors, filter by kind and name, zoom the timeline).

/// Styles of the explorer (appended to [`crate::assets::STYLE`]).
pub(crate) const STYLE: &str = r#"
.skip-link { position:absolute; left:-9999px; top:0; z-index:10; background:var(--accent); color:var(--on-accent); padding:6px 10px; }
.skip-link:focus { left:8px; top:8px; }
main:focus { outline:none; }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
header.top { flex-wrap:wrap; }
header.top nav { display:flex; flex-wrap:wrap; flex:1 1 auto; }
.nav-toggle, button.filters-toggle { display:none; }
.theme-toggle { background:none; color:var(--fg); border:1px solid var(--line); padding:2px 8px; margin-left:auto; }
button:disabled { opacity:.45; cursor:default; }
button.secondary, .tree-tools button, button.copy { background:var(--panel); color:var(--fg); border:1px solid var(--line); }
button.copy { font-size:11px; padding:0 6px; }
button.copy.copied { border-color:var(--ok); color:var(--ok); }
.ids code { overflow-wrap:anywhere; }
p.trace-id { margin:-6px 0 10px; color:var(--dim); font-size:13px; }
p.search-hit { background:var(--panel); border:1px solid var(--line); padding:6px 10px; border-radius:4px; }
.snippet { color:var(--dim); font-size:12px; }
td.name .match { display:block; max-width:420px; white-space:normal; }
time.when .ago { color:var(--dim); font-size:12px; margin-left:4px; }
.num, .dur, td.num, dd { font-variant-numeric:tabular-nums; }
td.num, .dur, .meta span { white-space:nowrap; }
.tree-tools { display:flex; flex-wrap:wrap; gap:6px; align-items:center; padding:6px 8px; border-bottom:1px solid var(--line); background:var(--panel); }
.tree-tools button { font-size:12px; padding:2px 8px; }
.tree-tools select, .tree-tools input { font:inherit; font-size:12px; padding:2px 6px; border:1px solid var(--input); border-radius:4px; background:var(--bg); color:var(--fg); }
li.row { grid-template-columns:minmax(0,38%) minmax(0,1fr) minmax(0,190px) 70px; }
li.row.filtered { display:none; }
.axis { margin-left:38%; margin-right:260px; }
.meta { display:flex; gap:6px; justify-content:flex-end; overflow:hidden; font-size:11px; color:var(--dim); padding:0 4px; }
.meta .m-model { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; min-width:0; }
.bar-track { cursor:crosshair; }
.zoom-select { position:absolute; top:0; bottom:0; background:color-mix(in srgb, var(--accent) 20%, transparent); border:1px solid var(--accent); pointer-events:none; z-index:2; }
section.tree { position:relative; }
ol.rows { position:relative; }
pre.json { white-space:pre; overflow:auto; word-break:normal; overflow-wrap:normal; font-size:12px; max-height:480px; }
pre.json.head { max-height:none; margin-bottom:2px; }
details.json-fold[open] > summary pre.head { display:none; }
.jk { color:var(--j-key); } .js { color:var(--j-str); } .jn { color:var(--j-num); } .jl { color:var(--j-lit); font-weight:600; }
section.io { margin-top:10px; }
section.io > h3 { border-bottom:1px solid var(--line); padding-bottom:2px; }
section.io.output > h3 { color:var(--llm); }
.io-attr code { font-size:11px; }
ol.documents { padding-left:20px; }
li.document { border:1px solid var(--line); border-radius:4px; padding:6px 8px; margin:6px 0; }
.doc-head { display:flex; gap:8px; align-items:center; margin-bottom:4px; }
.doc-score { background:var(--faint); }
h4 { font-size:13px; margin:10px 0 4px; }
.list-tools { display:flex; flex-wrap:wrap; gap:8px 16px; align-items:center; margin:0 0 8px; font-size:13px; }
.range-note { font-size:13px; color:var(--dim); }
.suggest { position:relative; }
ul.suggest-list { position:absolute; z-index:5; top:100%; left:0; min-width:100%; max-height:260px; overflow:auto; margin:2px 0 0; padding:0; list-style:none; background:var(--bg); border:1px solid var(--line); border-radius:4px; box-shadow:0 4px 12px rgba(0,0,0,.15); }
ul.suggest-list li { padding:4px 8px; cursor:pointer; display:flex; justify-content:space-between; gap:12px; color:var(--fg); font-size:13px; }
ul.suggest-list li .count { color:var(--dim); font-variant-numeric:tabular-nums; }
ul.suggest-list li[aria-selected=true], ul.suggest-list li:hover { background:var(--selected); }
table.traces th a.sort { color:inherit; text-decoration:none; }
table.traces th a.sort[aria-sort], table.traces th[aria-sort] a.sort { color:var(--fg); }
.pager { display:flex; gap:16px; }
details.more-filters > summary { cursor:pointer; color:var(--accent); font-size:13px; }
@media (max-width: 700px) {
  header.top { padding:8px 12px; gap:8px; }
  .nav-toggle { display:inline-block; background:var(--panel); color:var(--fg); border:1px solid var(--line); }
  header.top nav { display:none; flex-direction:column; flex-basis:100%; }
  header.top.nav-open nav { display:flex; }
  header.top nav a { padding:6px 0; }
  main { padding:12px; }
  form.filters { flex-direction:column; align-items:stretch; }
  form.filters label, form.filters input, form.filters select { min-width:0; width:100%; }
  form.filters:not(.open) > label:not(.search), form.filters:not(.open) > .score-filter { display:none; }
  button.filters-toggle { display:inline-block; align-self:flex-start; margin-bottom:8px; background:var(--panel); color:var(--fg); border:1px solid var(--line); }
  table.traces, table.traces tbody, table.traces tr, table.traces td { display:block; width:100%; }
  table.traces thead { display:none; }
  table.traces tr { border:1px solid var(--line); border-radius:6px; margin:0 0 10px; padding:6px 8px; }
  table.traces td { border:none; padding:2px 0; white-space:normal; text-align:left !important; display:flex; gap:8px; justify-content:space-between; }
  table.traces td::before { content:attr(data-label); color:var(--dim); font-size:12px; flex:none; }
  table.traces td.name { max-width:none; font-weight:600; }
  table.traces td:empty { display:none; }
  li.row { grid-template-columns:minmax(0,60%) minmax(0,1fr) 64px; }
  li.row .meta { display:none; }
  .axis { margin-left:60%; margin-right:64px; }
  .trace-view { grid-template-columns:minmax(0,1fr); }
  section.detail { position:static; max-height:none; }
  dl.fields { grid-template-columns:repeat(auto-fill,minmax(120px,1fr)); }
  pre, table { max-width:100%; }
}
"#;

/// Script of the explorer (appended to [`crate::assets::SCRIPT`]).
pub(crate) const SCRIPT: &str = r#"
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function store(k, v) { try { if (v === undefined) return localStorage.getItem(k); if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { return null; } }

  // Theme: the toggle flips between light and dark and remembers the choice.
  var toggle = $('.theme-toggle');
  if (toggle) toggle.addEventListener('click', function () {
    var root = document.documentElement, now = root.dataset.theme ||
      (window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
    var next = now === 'dark' ? 'light' : 'dark';
    root.dataset.theme = next; store('llmtrace-theme', next);
  });
  // Phone navigation.
  var navToggle = $('.nav-toggle');
  if (navToggle) navToggle.addEventListener('click', function () {
    var h = $('header.top'), open = !h.classList.contains('nav-open');
    h.classList.toggle('nav-open', open); navToggle.setAttribute('aria-expanded', String(open));
  });
  var filtersToggle = $('.filters-toggle');
  if (filtersToggle) filtersToggle.addEventListener('click', function () {
    var f = $('form.filters'), open = !f.classList.contains('open');
    f.classList.toggle('open', open); filtersToggle.setAttribute('aria-expanded', String(open));
  });

  // Times: the reader's time zone, with a relative age; UTC stays on hover.
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function ago(ms) {
    var s = Math.round(ms / 1000);
    if (s < 0) return 'in the future';
    if (s < 45) return 'just now';
    var m = Math.round(s / 60); if (m < 60) return m + ' min ago';
    var h = Math.round(m / 60); if (h < 24) return h + ' h ago';
    var d = Math.round(h / 24); return d + (d === 1 ? ' day ago' : ' days ago');
  }
  function localTimes() {
    $all('time.when[datetime]').forEach(function (t) {
      var iso = t.getAttribute('datetime').replace(/(\.\d{3})\d+/, '$1');
      var d = new Date(iso);
      if (isNaN(d)) return;
      var text = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
      t.textContent = text;
      var a = document.createElement('span'); a.className = 'ago'; a.textContent = ago(Date.now() - d.getTime());
      t.appendChild(a);
      t.dataset.local = '1';
    });
  }
  localTimes();
  setInterval(localTimes, 30000);

  // Copy buttons.
  document.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('button.copy') : null;
    if (!b) return;
    var v = b.dataset.copy, done = function () { b.textContent = 'Copied'; b.classList.add('copied'); setTimeout(function () { b.textContent = 'Copy'; b.classList.remove('copied'); }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(v).then(done, function () { fallback(v); done(); });
    else { fallback(v); done(); }
  });
  function fallback(v) { var t = document.createElement('textarea'); t.value = v; document.body.appendChild(t); t.select(); try { document.execCommand('copy'); } catch (e) {} t.remove(); }

  // Filter suggestions: known values with counts, matched by prefix as the reader types.
  $all('input[data-suggest]').forEach(function (input) {
    var values = [], loaded = false;
    function load(then) {
      if (loaded) return then();
      loaded = true;
      fetch('/ui/suggest/' + input.dataset.suggest, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (list) { values = list.map(function (x) { return { v: x.value, n: x.count.toLocaleString() + ' ' + x.unit }; }); then(); })
        .catch(function () {});
    }
    var wrap = input.parentNode; wrap.classList.add('suggest');
    var list = document.createElement('ul'); list.className = 'suggest-list'; list.setAttribute('role', 'listbox'); list.hidden = true;
    list.id = input.name + '-suggestions'; input.setAttribute('aria-controls', list.id); input.setAttribute('autocomplete', 'off');
    wrap.appendChild(list);
    var active = -1;
    function show() {
      var typed = input.value.toLowerCase(), shown = values.filter(function (x) { return x.v.toLowerCase().indexOf(typed) === 0 && x.v !== input.value; }).slice(0, 30);
      list.innerHTML = ''; active = -1;
      shown.forEach(function (x) {
        var li = document.createElement('li'); li.setAttribute('role', 'option'); li.dataset.value = x.v;
        var name = document.createElement('span'); name.textContent = x.v; name.dir = 'auto'; li.appendChild(name);
        if (x.n) { var c = document.createElement('span'); c.className = 'count'; c.textContent = x.n; li.appendChild(c); }
        li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(x.v); });
        list.appendChild(li);
      });
      list.hidden = shown.length === 0;
    }
    function pick(v) { input.value = v; list.hidden = true; }
    function mark() { $all('li', list).forEach(function (li, i) { li.setAttribute('aria-selected', String(i === active)); }); }
    input.addEventListener('focus', function () { load(show); });
    input.addEventListener('input', function () { load(show); });
    input.addEventListener('blur', function () { list.hidden = true; });
    input.addEventListener('keydown', function (e) {
      var items = $all('li', list);
      if (list.hidden || !items.length) return;
      if (e.key === 'ArrowDown') { active = Math.min(active + 1, items.length - 1); mark(); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { active = Math.max(active - 1, 0); mark(); e.preventDefault(); }
      else if (e.key === 'Enter' && active >= 0) { pick(items[active].dataset.value); e.preventDefault(); }
      else if (e.key === 'Escape') { list.hidden = true; }
    });
  });

  // Search results: each row shows where the search matched, linking to that span.
  var table = $('table.traces'), q = table && table.dataset.search;
  if (q) $all('td.name[data-trace]').forEach(function (td) {
    fetch('/traces/' + td.dataset.trace + '/match?q=' + encodeURIComponent(q), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : ''; })
      .then(function (html) { if (!html) return; var d = document.createElement('div'); d.className = 'match'; d.innerHTML = html; td.appendChild(d); })
      .catch(function () {});
  });

  // Auto-refresh of the list (off unless turned on; remembered).
  var auto = $('#auto-refresh');
  if (auto) {
    auto.checked = store('llmtrace-auto-refresh') === '1';
    var timer = null;
    var arm = function () {
      if (timer) clearInterval(timer);
      timer = auto.checked ? setInterval(function () {
        var a = document.activeElement;
        if (a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA') && a !== auto) return;
        location.reload();
      }, 10000) : null;
    };
    auto.addEventListener('change', function () { store('llmtrace-auto-refresh', auto.checked ? '1' : null); arm(); });
    arm();
  }

  // The trace tree's tools.
  var view = $('.trace-view');
  if (!view || !window.llmtraceTree) return;
  var tree = window.llmtraceTree, list = $('ol.rows');
  function rowsNow() { return tree.rows(); }
  function expandAll(open) {
    rowsNow().forEach(function (r) { if (r.querySelector('.toggle')) { r.classList.toggle('collapsed', !open); var b = r.querySelector('.toggle'); b.textContent = open ? '▾' : '▸'; b.setAttribute('aria-expanded', String(open)); b.setAttribute('aria-label', open ? 'Collapse' : 'Expand'); } });
    tree.refresh();
  }
  $('#expand-all').addEventListener('click', function () { expandAll(true); });
  $('#collapse-all').addEventListener('click', function () {
    expandAll(false);
    // Keep the roots' children visible: collapse below the first level only.
    rowsNow().forEach(function (r) { if (r.dataset.depth === '0') { r.classList.remove('collapsed'); var b = r.querySelector('.toggle'); if (b) { b.textContent = '▾'; b.setAttribute('aria-expanded', 'true'); } } });
    tree.refresh();
  });

  // Jump between failed spans (tree order); one not rendered yet opens the page around it.
  var errors = (view.dataset.errors || '').split(',').filter(Boolean).map(function (x) { var i = x.indexOf(':'); return { pos: +x.slice(0, i), id: x.slice(i + 1) }; });
  function jump(dir) {
    if (!errors.length) return;
    var sel = $('li.row.selected'), cur = sel ? +sel.dataset.pos : -1, target = null;
    if (dir > 0) { target = errors.filter(function (e) { return e.pos > cur; })[0] || errors[0]; }
    else { var before = errors.filter(function (e) { return e.pos < cur; }); target = before[before.length - 1] || errors[errors.length - 1]; }
    var row = $('li.row[data-span="' + target.id + '"]');
    if (!row) { location.href = '/traces/' + view.dataset.trace + '?span=' + target.id; return; }
    if (row.classList.contains('hidden') || row.classList.contains('filtered')) { expandAll(true); clearFilters(); }
    tree.select(row, true);
    var link = row.querySelector('.span-link'); if (link) link.focus();
    if (row.scrollIntoView) row.scrollIntoView({ block: 'nearest' });
  }
  $('#next-error').addEventListener('click', function () { jump(1); });
  $('#prev-error').addEventListener('click', function () { jump(-1); });

  // Filter by kind and by name.
  var kind = $('#kind-filter'), name = $('#name-filter');
  function applyFilters() {
    var k = kind.value, n = name.value.trim().toLowerCase();
    rowsNow().forEach(function (r) {
      var nm = r.querySelector('.span-link .name'), text = nm ? nm.textContent.toLowerCase() : '';
      r.classList.toggle('filtered', (k && r.dataset.kind !== k) || (n && text.indexOf(n) < 0));
    });
  }
  function clearFilters() { kind.value = ''; name.value = ''; applyFilters(); }
  kind.addEventListener('change', applyFilters);
  name.addEventListener('input', applyFilters);

  // Timeline zoom: drag across the timeline to show a time window; reset shows it all.
  var dur = +view.dataset.durationMs || 0, zoom = { a: 0, b: 1 };
  function fmt(ms) {
    if (ms <= 0) return '0';
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
    var s = Math.round(ms / 1000); return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  }
  function applyZoom() {
    var span = zoom.b - zoom.a;
    $all('.bar[data-l]').forEach(function (bar) {
      var l = (+bar.dataset.l - zoom.a) / span, w = +bar.dataset.w / span;
      if (l + w < 0 || l > 1) { bar.style.visibility = 'hidden'; return; }
      var from = Math.max(l, 0), to = Math.min(l + w, 1);
      bar.style.visibility = '';
      bar.style.left = (from * 100).toFixed(3) + '%';
      bar.style.width = Math.max((to - from) * 100, 0.15).toFixed(3) + '%';
    });
    $('#axis-from').textContent = fmt(zoom.a * dur);
    $('#axis-mid').textContent = fmt((zoom.a + span / 2) * dur);
    $('#axis-to').textContent = fmt(zoom.b * dur);
    var zoomed = zoom.a > 0 || zoom.b < 1;
    $('#zoom-reset').hidden = !zoomed;
    $('#zoom-label').textContent = zoomed ? 'Showing ' + fmt(zoom.a * dur) + ' to ' + fmt(zoom.b * dur) + ' of ' + fmt(dur) : '';
  }
  function zoomTo(a, b) {
    a = Math.max(0, Math.min(a, 1)); b = Math.max(0, Math.min(b, 1));
    if (b - a < 1e-6) return;
    zoom = { a: a, b: b }; applyZoom();
  }
  $('#zoom-reset').addEventListener('click', function () { zoomTo(0, 1); });
  $('#zoom-span').addEventListener('click', function () {
    var bar = $('li.row.selected .bar'); if (!bar) return;
    var l = +bar.dataset.l, w = Math.max(+bar.dataset.w, 1e-4), pad = w * 0.05;
    zoomTo(l - pad, l + w + pad);
  });
  var drag = null;
  function trackFraction(ev, rect) { return Math.max(0, Math.min(1, (ev.clientX - rect.left) / rect.width)); }
  list.addEventListener('mousedown', function (e) {
    var track = e.target.closest ? e.target.closest('.bar-track') : null;
    if (!track || e.button !== 0) return;
    e.preventDefault();
    var rect = track.getBoundingClientRect(), box = document.createElement('div');
    box.className = 'zoom-select'; list.appendChild(box);
    drag = { rect: rect, start: trackFraction(e, rect), box: box, x0: e.clientX };
    drawBox(drag.start, drag.start);
  });
  function drawBox(f1, f2) {
    var lr = list.getBoundingClientRect(), r = drag.rect;
    drag.box.style.left = (r.left - lr.left + Math.min(f1, f2) * r.width) + 'px';
    drag.box.style.width = (Math.abs(f2 - f1) * r.width) + 'px';
    drag.box.style.top = list.scrollTop + 'px'; drag.box.style.height = list.clientHeight + 'px';
  }
  document.addEventListener('mousemove', function (e) { if (drag) drawBox(drag.start, trackFraction(e, drag.rect)); });
  document.addEventListener('mouseup', function (e) {
    if (!drag) return;
    var end = trackFraction(e, drag.rect), moved = Math.abs(e.clientX - drag.x0), d = drag;
    d.box.remove(); drag = null;
    if (moved < 4) return;
    var span = zoom.b - zoom.a, f1 = Math.min(d.start, end), f2 = Math.max(d.start, end);
    zoomTo(zoom.a + f1 * span, zoom.a + f2 * span);
  });
  // Rows loaded later (a large trace) follow the zoom and the filters.
  if (window.MutationObserver) new MutationObserver(function () { applyZoom(); applyFilters(); }).observe(list, { childList: true });

  // Keys: n / p next and previous error, z zoom to the selected span, Escape resets the zoom.
  document.addEventListener('keydown', function (e) {
    var a = document.activeElement, typing = a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.tagName === 'SELECT' || a.isContentEditable);
    if (typing || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === 'n') { jump(1); e.preventDefault(); }
    else if (e.key === 'p') { jump(-1); e.preventDefault(); }
    else if (e.key === 'z') { $('#zoom-span').click(); e.preventDefault(); }
    else if (e.key === 'Escape' && (zoom.a > 0 || zoom.b < 1)) { zoomTo(0, 1); }
  });
})();
"#;
