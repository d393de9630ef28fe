//! The stylesheet and the script, served at `/ui/style.css` and `/ui/app.js`.

/// The stylesheet: a readable table, kinds told apart by colour and label, errors in red, good
/// contrast, a layout for a laptop screen.
pub const STYLE: &str = r#"
:root { color-scheme:light; --fg:#1b1f24; --dim:#57606a; --bg:#fff; --panel:#f6f8fa; --line:#d0d7de; --faint:#eef1f4; --grid:#e5e8eb; --input:#8c959f; --muted:#c0c6cc;
  --accent:#0b57d0; --on-accent:#fff; --selected:#e8f0fe; --ok:#0a7d55; --err:#b42318; --errbg:#fdecea; --warn:#8a5a00; --warnbg:#fff4d6;
  --llm:#6f42c1; --embedding:#8250df; --retriever:#0a7d55; --reranker:#0e7490; --tool:#b35900; --agent:#0b57d0; --chain:#4b5563; --span:#6b7280;
  --j-key:#0550ae; --j-str:#0a3069; --j-num:#953800; --j-lit:#8250df; }
/* Dark: the reader's system setting, unless the toggle chose a theme (data-theme on <html>). */
@media (prefers-color-scheme: dark) { :root:not([data-theme=light]) { color-scheme:dark; --fg:#e6edf3; --dim:#9aa4ae; --bg:#0d1117; --panel:#161b22; --line:#30363d; --faint:#21262d; --grid:#21262d; --input:#6e7681; --muted:#484f58;
  --accent:#58a6ff; --on-accent:#0d1117; --selected:#1f3a5f; --ok:#3fb950; --err:#ff7b72; --errbg:#3d1512; --warn:#e3b341; --warnbg:#3a2d0b;
  --llm:#a371f7; --embedding:#bc8cff; --retriever:#3fb950; --reranker:#39c5cf; --tool:#f0883e; --agent:#58a6ff; --chain:#8b949e; --span:#8b949e;
  --j-key:#79c0ff; --j-str:#a5d6ff; --j-num:#ffa657; --j-lit:#d2a8ff; } }
:root[data-theme=dark] { color-scheme:dark; --fg:#e6edf3; --dim:#9aa4ae; --bg:#0d1117; --panel:#161b22; --line:#30363d; --faint:#21262d; --grid:#21262d; --input:#6e7681; --muted:#484f58;
  --accent:#58a6ff; --on-accent:#0d1117; --selected:#1f3a5f; --ok:#3fb950; --err:#ff7b72; --errbg:#3d1512; --warn:#e3b341; --warnbg:#3a2d0b;
  --llm:#a371f7; --embedding:#bc8cff; --retriever:#3fb950; --reranker:#39c5cf; --tool:#f0883e; --agent:#58a6ff; --chain:#8b949e; --span:#8b949e;
  --j-key:#79c0ff; --j-str:#a5d6ff; --j-num:#ffa657; --j-lit:#d2a8ff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Noto Sans Arabic",sans-serif; color:var(--fg); background:var(--bg); }
header.top { display:flex; gap:24px; align-items:center; padding:8px 20px; border-bottom:1px solid var(--line); background:var(--panel); }
header.top .brand { font-weight:700; color:var(--fg); text-decoration:none; font-size:16px; }
header.top nav a { margin-right:16px; color:var(--dim); text-decoration:none; }
header.top nav a[aria-current=page] { color:var(--fg); font-weight:600; border-bottom:2px solid var(--accent); }
main { padding:16px 20px; }
h1 { font-size:20px; margin:4px 0 12px; word-break:break-all; }
h2 { font-size:16px; margin:0 0 4px; word-break:break-all; }
h3 { font-size:14px; margin:14px 0 6px; }
a { color:var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline:2px solid var(--accent); outline-offset:1px; }
.dim { color:var(--dim); }
.error { color:var(--err); }
p.error { background:var(--errbg); padding:6px 10px; border-radius:4px; }
.warn { color:var(--warn); }
p.warn { background:var(--warnbg); padding:6px 10px; border-radius:4px; }
.badge { display:inline-block; padding:0 6px; border-radius:10px; font-size:12px; background:var(--faint); }
.badge.warn { background:var(--warnbg); color:var(--warn); }
form.filters { display:flex; flex-wrap:wrap; gap:8px 12px; align-items:flex-end; margin-bottom:14px; padding:10px; background:var(--panel); border:1px solid var(--line); border-radius:6px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--dim); }
form.filters input, form.filters select { font:inherit; padding:4px 6px; border:1px solid var(--input); border-radius:4px; min-width:120px; color:var(--fg); background:var(--bg); }
div.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(440px, 1fr)); gap:14px; margin:8px 0 18px; }
figure.chart { margin:0; border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
figure.chart figcaption { font-weight:600; font-size:13px; margin-bottom:4px; }
figure.chart > svg { width:100%; height:auto; display:block; }
ul.legend svg { display:inline-block; vertical-align:middle; }
figure.chart .grid { stroke:var(--grid); stroke-width:1; }
figure.chart text { font-size:11px; fill:var(--dim); }
ul.legend { list-style:none; display:flex; flex-wrap:wrap; gap:4px 14px; margin:4px 0 0; padding:0; font-size:12px; color:var(--dim); }
div.pair { display:grid; grid-template-columns:repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap:16px; margin-bottom:16px; }
form.filters label.search { flex:1 1 100%; }
form.filters label.search input { width:100%; font-size:15px; padding:6px 8px; }
form.filters .actions { display:flex; gap:10px; align-items:center; }
button { font:inherit; padding:4px 12px; border-radius:4px; border:1px solid var(--accent); background:var(--accent); color:var(--on-accent); cursor:pointer; }
table.traces { width:100%; border-collapse:collapse; }
table.traces th, table.traces td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
table.traces td.name { white-space:normal; max-width:340px; word-break:break-word; }
table.traces th { font-size:12px; color:var(--dim); font-weight:600; }
table.traces td.num { text-align:right; font-variant-numeric:tabular-nums; }
table.traces tr.failed td:first-child { box-shadow: inset 3px 0 var(--err); }
.status.error { color:var(--err); font-weight:600; }
.status.ok { color:var(--ok); }
.pager { margin:12px 0; }
.empty { padding:24px; border:1px dashed var(--line); border-radius:6px; max-width:720px; }
pre { background:var(--panel); padding:8px; border-radius:4px; overflow:auto; white-space:pre-wrap; word-break:break-word; }
dl.totals { display:flex; flex-wrap:wrap; gap:8px 22px; margin:0 0 12px; }
dl.totals div, dl.fields div { display:flex; flex-direction:column; }
dt { font-size:12px; color:var(--dim); }
dd { margin:0; font-weight:600; }
.trace-view { display:grid; grid-template-columns:minmax(0,3fr) minmax(min(320px,100%),2fr); gap:16px; align-items:start; }
@media (max-width: 1000px) { .trace-view { grid-template-columns:1fr; } }
section.tree { border:1px solid var(--line); border-radius:6px; overflow:hidden; }
.axis { display:flex; justify-content:space-between; margin-left:45%; margin-right:70px; font-size:11px; color:var(--dim); padding:4px 0; border-bottom:1px solid var(--line); }
li.more { padding:6px 10px; border-bottom:1px solid var(--faint); font-size:12px; }
ol.rows { list-style:none; margin:0; padding:0; max-height:75vh; overflow:auto; }
li.row { display:grid; grid-template-columns:45% 1fr 70px; align-items:center; min-height:26px; border-bottom:1px solid var(--faint); content-visibility:auto; contain-intrinsic-size:auto 26px; }
li.row.hidden { display:none; }
li.row.selected { background:var(--selected); }
li.row.error .span-link { color:var(--err); font-weight:600; }
li.row.error-below > .label .toggle { color:var(--err); }
li.row .label { overflow:hidden; white-space:nowrap; text-overflow:ellipsis; display:flex; align-items:center; gap:4px; }
li.row .span-link { text-decoration:none; color:var(--fg); overflow:hidden; text-overflow:ellipsis; }
.toggle { background:none; border:none; color:var(--dim); padding:0 2px; width:18px; cursor:pointer; }
.leaf { width:18px; text-align:center; color:var(--muted); }
.kind { display:inline-block; font-size:11px; font-weight:600; padding:0 5px; border-radius:3px; color:var(--on-accent); background:var(--span); text-transform:uppercase; }
.kind.kind-llm { background:var(--llm); } .kind.kind-embedding { background:var(--embedding); } .kind.kind-retriever { background:var(--retriever); }
.kind.kind-reranker { background:var(--reranker); } .kind.kind-tool { background:var(--tool); } .kind.kind-agent { background:var(--agent); } .kind.kind-chain { background:var(--chain); }
.bar-track { position:relative; height:14px; margin:0 6px; }
.bar { position:absolute; top:2px; height:10px; border-radius:2px; background:var(--span); min-width:2px; }
li.kind-llm .bar, li.kind-embedding .bar { background:var(--llm); } li.kind-retriever .bar { background:var(--retriever); } li.kind-reranker .bar { background:var(--reranker); }
li.kind-tool .bar { background:var(--tool); } li.kind-agent .bar { background:var(--agent); } li.kind-chain .bar { background:var(--chain); }
li.row.error .bar { background:var(--err); }
.dur { text-align:right; padding-right:8px; font-size:12px; color:var(--dim); font-variant-numeric:tabular-nums; }
section.detail { border:1px solid var(--line); border-radius:6px; padding:12px; position:sticky; top:8px; max-height:90vh; overflow:auto; }
dl.fields { display:grid; grid-template-columns:repeat(auto-fill,minmax(140px,1fr)); gap:8px; margin:8px 0; }
dl.fields dd { font-weight:500; word-break:break-word; }
.msg { border-left:3px solid var(--line); padding:4px 10px; margin:8px 0; }
.msg .role { font-size:12px; font-weight:700; text-transform:uppercase; color:var(--dim); }
.msg.role-user { border-color:var(--accent); } .msg.role-assistant { border-color:var(--llm); } .msg.role-system { border-color:var(--chain); } .msg.role-tool { border-color:var(--tool); }
.msg .text { white-space:pre-wrap; word-break:break-word; }
.tool-call .label, .tool-result .label, .reasoning .label { font-size:12px; font-weight:600; color:var(--tool); }
details.fold summary { cursor:pointer; list-style:none; }
details.fold[open] summary .text { display:none; }
details.fold .more { color:var(--accent); font-size:12px; }
details.attrs table { border-collapse:collapse; width:100%; font-size:12px; }
details.attrs th { text-align:left; font-weight:500; color:var(--dim); padding:2px 8px 2px 0; vertical-align:top; white-space:nowrap; }
details.attrs td { word-break:break-word; padding:2px 0; }
li.exception { color:var(--err); }
section.annotate { display:grid; grid-template-columns:repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap:12px; margin:0 0 14px; }
section.annotate form { display:flex; flex-wrap:wrap; gap:6px 10px; align-items:flex-end; padding:8px 10px; border:1px solid var(--line); border-radius:6px; background:var(--panel); }
section.annotate form h3 { flex:1 1 100%; margin:0; }
section.annotate label, form.filters label.score-filter { display:flex; flex-direction:column; font-size:12px; color:var(--dim); }
section.annotate label.wide { flex:1 1 100%; }
section.annotate input, section.annotate select, section.annotate textarea, textarea.expected { font:inherit; padding:4px 6px; border:1px solid var(--input); border-radius:4px; color:var(--fg); background:var(--bg); }
section.annotate textarea, textarea.expected { width:100%; }
section.annotate form:focus-within { border-color:var(--accent); }
section.annotate .actions, td .actions { display:flex; gap:10px; align-items:center; }
.keys { font-weight:400; font-size:12px; }
p.status:empty { display:none; }
p.status { margin:0; flex:1 1 100%; }
button.link { background:none; border:none; color:var(--accent); padding:0 2px; text-decoration:underline; }
ul.scores { list-style:none; padding:0; margin:4px 0 10px; display:flex; flex-wrap:wrap; gap:4px 16px; }
ul.scores li { padding:2px 8px; border:1px solid var(--line); border-radius:12px; }
section#trace-scores h2 { margin-top:8px; }
table.traces td.score a { text-decoration:none; font-variant-numeric:tabular-nums; }
pre.io { max-height:160px; margin:0; font-size:12px; }
textarea:focus-visible { outline:2px solid var(--accent); outline-offset:1px; }
"#;

/// The script: collapse and expand subtrees, show a span without reloading (falling back to the
/// plain link), keyboard navigation of the rows (up, down, left, right).
pub const SCRIPT: &str = r#"
(function () {
  function rows() { return Array.prototype.slice.call(document.querySelectorAll('li.row')); }
  // Hides every row under a collapsed row; run after a toggle and after rows are loaded.
  function refresh() {
    var hideBelow = null;
    rows().forEach(function (r) {
      var d = +r.dataset.depth;
      if (hideBelow !== null && d > hideBelow) { r.classList.add('hidden'); return; }
      hideBelow = null;
      r.classList.remove('hidden');
      if (r.classList.contains('collapsed')) hideBelow = d;
    });
  }
  function setCollapsed(row, collapsed) {
    var btn = row.querySelector('.toggle');
    if (btn) { btn.textContent = collapsed ? '▸' : '▾'; btn.setAttribute('aria-expanded', String(!collapsed)); btn.setAttribute('aria-label', collapsed ? 'Expand' : 'Collapse'); }
    row.classList.toggle('collapsed', collapsed);
    refresh();
  }
  // A large trace renders a window of rows; a placeholder row above or below loads the next
  // chunk when it scrolls into view (or is clicked) and is replaced by it.
  function loadMore(li) {
    if (li.dataset.loading) return;
    li.dataset.loading = '1';
    var view = document.querySelector('.trace-view'), list = li.parentNode, before = li.dataset.dir === 'before';
    var keep = before ? list.scrollHeight - list.scrollTop : 0;
    fetch('/traces/' + view.dataset.trace + '/rows?from=' + li.dataset.from + '&to=' + li.dataset.to + '&dir=' + li.dataset.dir, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var tpl = document.createElement('template');
        tpl.innerHTML = html;
        var added = Array.prototype.slice.call(tpl.content.querySelectorAll('li.more'));
        list.replaceChild(tpl.content, li);
        if (before) list.scrollTop = list.scrollHeight - keep;
        refresh();
        added.forEach(watch);
      })
      .catch(function () { delete li.dataset.loading; });
  }
  var observer = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) { observer.unobserve(e.target); loadMore(e.target); } });
  }, { root: document.querySelector('ol.rows'), rootMargin: '400px' }) : null;
  function watch(li) { if (observer) observer.observe(li); }
  function select(row, push) {
    var view = document.querySelector('.trace-view');
    if (!view || !row) return;
    var trace = view.dataset.trace, span = row.dataset.span;
    rows().forEach(function (r) {
      var on = r === row, link = r.querySelector('.span-link');
      r.classList.toggle('selected', on);
      r.setAttribute('aria-selected', String(on));
      // One tab stop for the whole tree: the selected row's link (arrow keys move inside).
      if (link) link.setAttribute('tabindex', on ? '0' : '-1');
    });
    fetch('/traces/' + trace + '/spans/' + span, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        document.getElementById('detail').innerHTML = html;
        if (push) history.replaceState(null, '', '/traces/' + trace + '?span=' + span);
      })
      .catch(function () { location.href = '/traces/' + trace + '?span=' + span; });
  }
  document.addEventListener('click', function (e) {
    var more = e.target.closest ? e.target.closest('li.more') : null;
    if (more) { e.preventDefault(); loadMore(more); return; }
    var t = e.target.closest ? e.target.closest('.toggle, .span-link') : null;
    if (!t) return;
    var row = t.closest('li.row');
    if (t.classList.contains('toggle')) { e.preventDefault(); setCollapsed(row, !row.classList.contains('collapsed')); return; }
    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    select(row, true);
  });
  document.addEventListener('keydown', function (e) {
    var link = document.activeElement;
    if (!link || !link.classList || !link.classList.contains('span-link')) return;
    var row = link.closest('li.row'), visible = rows().filter(function (r) { return !r.classList.contains('hidden') && !r.classList.contains('filtered'); });
    var i = visible.indexOf(row), next = null;
    if (e.key === 'ArrowDown') next = visible[i + 1];
    else if (e.key === 'ArrowUp') next = visible[i - 1];
    else if (e.key === 'ArrowLeft' && row.querySelector('.toggle')) { setCollapsed(row, true); e.preventDefault(); return; }
    else if (e.key === 'ArrowRight' && row.querySelector('.toggle')) { setCollapsed(row, false); e.preventDefault(); return; }
    else return;
    e.preventDefault();
    if (next) { next.querySelector('.span-link').focus(); select(next, true); }
  });
  window.llmtraceTree = { select: select, setCollapsed: setCollapsed, refresh: refresh, rows: rows };
  var sel = document.querySelector('li.row.selected');
  if (sel && sel.scrollIntoView) sel.scrollIntoView({ block: 'nearest' });
  Array.prototype.slice.call(document.querySelectorAll('li.more')).forEach(watch);
})();
"#;
