/**
 * The stylesheet and script of the HTML graph viewer (`html.ts`), inlined into every
 * page so the file works offline, from disk, with no network access.
 *
 * The script reads the graph from `<script id="graph-data" type="application/json">`,
 * builds the layer tree with DOM calls (text is never parsed as HTML), makes the
 * embedded SVG's nodes clickable (Graphviz writes each node's DOT id, `n<id>`, as its
 * `<title>`), and fills the details panel on selection.
 */

export const VIEWER_CSS = `
:root { --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --grad: #b91c1c; font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); }
* { box-sizing: border-box; }
body { margin: 0; height: 100vh; display: flex; flex-direction: column; background: #fff; }
header { display: flex; gap: 12px; align-items: center; padding: 8px 14px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
header .stats { color: var(--muted); font-size: 13px; }
header .spacer { flex: 1; }
button { font: inherit; cursor: pointer; }
header button { border: 1px solid var(--line); background: #f9fafb; border-radius: 6px; padding: 3px 10px; font-size: 13px; }
header input { border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; font-size: 13px; width: 200px; }
main { flex: 1; display: grid; grid-template-columns: 300px 1fr 340px; min-height: 0; }
nav { border-right: 1px solid var(--line); overflow: auto; padding: 6px 0; font-size: 13px; }
.layer { margin: 0 0 2px; }
.layer-toggle { display: flex; width: 100%; gap: 6px; align-items: baseline; border: 0; background: none; text-align: left; padding: 4px 10px; font-weight: 600; }
.layer-toggle:hover { background: #f3f4f6; }
.layer-toggle .arrow { display: inline-block; width: 10px; transition: transform .1s; }
.layer-toggle[aria-expanded="true"] .arrow { transform: rotate(90deg); }
.layer-toggle .count { color: var(--muted); font-weight: 400; margin-left: auto; }
.layer-nodes { list-style: none; margin: 0; padding: 0 0 4px 0; }
.layer-nodes[hidden] { display: none; }
.node-item { display: flex; width: 100%; gap: 8px; border: 0; background: none; text-align: left; padding: 2px 10px 2px 26px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.node-item:hover { background: #f3f4f6; }
.node-item.selected { background: #dbeafe; }
.node-item .type { color: var(--muted); margin-left: auto; white-space: nowrap; }
.node-item.gradient .label { color: var(--grad); }
.node-item.filtered-out { display: none; }
#picture { overflow: auto; padding: 10px; background: #fcfcfd; }
#picture svg { max-width: none; height: auto; }
#picture g.node { cursor: pointer; }
#picture g.node.selected polygon, #picture g.node.selected ellipse, #picture g.node.selected path { stroke: var(--accent); stroke-width: 3px; }
#picture g.node.related polygon, #picture g.node.related ellipse, #picture g.node.related path { stroke: var(--accent); stroke-width: 1.5px; stroke-dasharray: 3 2; }
#picture .none { color: var(--muted); font-size: 13px; padding: 20px; }
aside { border-left: 1px solid var(--line); overflow: auto; padding: 12px 14px; font-size: 13px; }
aside .hint { color: var(--muted); }
aside h2 { font-size: 15px; margin: 0 0 10px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
aside dl { display: grid; grid-template-columns: 96px 1fr; gap: 6px 8px; margin: 0; }
aside dt { color: var(--muted); }
aside dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-word; }
aside dd button { border: 0; background: #eef2ff; color: #1e3a8a; border-radius: 4px; padding: 1px 6px; margin: 0 4px 4px 0; font-family: inherit; font-size: 12px; }
aside dd .none { color: var(--muted); }
`;

export const VIEWER_JS = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var tree = document.getElementById("tree");
  var details = document.getElementById("details");
  var picture = document.getElementById("picture");
  var items = {};
  var svgNodes = {};
  var selected = null;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "className") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }

  function setExpanded(section, open) {
    var toggle = section.querySelector(".layer-toggle");
    var list = section.querySelector(".layer-nodes");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    list.hidden = !open;
  }

  function groupSection(index, label, ids, open) {
    var section = el("section", { className: "layer", "data-layer": String(index) });
    var toggle = el("button", { className: "layer-toggle", type: "button", "aria-expanded": "true" }, [
      el("span", { className: "arrow", text: "\\u25b8" }),
      el("span", { className: "name", text: label }),
      el("span", { className: "count", text: ids.length + (ids.length === 1 ? " node" : " nodes") }),
    ]);
    var list = el("ul", { className: "layer-nodes" });
    ids.forEach(function (id) {
      var n = byId[id];
      var item = el("button", { className: "node-item" + (n.origin ? " gradient" : ""), type: "button", "data-node": String(id) }, [
        el("span", { className: "label", text: n.label }),
        el("span", { className: "type", text: n.type }),
      ]);
      item.addEventListener("click", function () { select(id, "tree"); });
      items[id] = item;
      list.appendChild(el("li", {}, [item]));
    });
    toggle.addEventListener("click", function () { setExpanded(section, toggle.getAttribute("aria-expanded") !== "true"); });
    section.appendChild(toggle);
    section.appendChild(list);
    setExpanded(section, open);
    return section;
  }

  var open = data.nodes.length <= 300;
  data.layers.forEach(function (layer, k) { tree.appendChild(groupSection(k, layer.label, layer.nodes, open)); });
  var loose = data.nodes.filter(function (n) { return n.layer < 0; }).map(function (n) { return n.id; });
  if (loose.length > 0) tree.appendChild(groupSection(-1, data.layers.length > 0 ? "outside layers" : "all nodes", loose, true));

  function sectionOf(id) {
    var n = byId[id];
    return tree.querySelector('section[data-layer="' + n.layer + '"]');
  }

  function nodeButton(id) {
    var n = byId[id];
    var b = el("button", { type: "button", "data-goto": String(id), text: n.label });
    b.addEventListener("click", function () { select(id, "details"); });
    return b;
  }

  function refs(ids) {
    if (ids.length === 0) return [el("span", { className: "none", text: "none" })];
    return ids.map(nodeButton);
  }

  function row(dl, name, field, content) {
    dl.appendChild(el("dt", { text: name }));
    var dd = el("dd", { "data-field": field });
    if (typeof content === "string") dd.textContent = content;
    else content.forEach(function (c) { dd.appendChild(c); });
    dl.appendChild(dd);
  }

  function showDetails(n) {
    details.textContent = "";
    details.appendChild(el("h2", { text: n.label }));
    var dl = el("dl");
    row(dl, "op", "op", n.op);
    row(dl, "shape", "shape", n.shape);
    row(dl, "dtype", "dtype", n.dtype);
    row(dl, "source", "source", n.loc === null ? "unknown" : n.loc + (n.functions.length > 0 ? " (in " + n.functions.join(" \\u2190 ") + ")" : ""));
    if (n.params.length > 0) row(dl, "params", "params", n.params.map(function (p) { return p[0] + " = " + p[1]; }).join("\\n"));
    row(dl, "layer", "layer", n.layer < 0 ? "none" : data.layers[n.layer].label);
    row(dl, "inputs", "inputs", refs(n.inputs));
    row(dl, "consumers", "consumers", refs(n.consumers));
    if (n.origin) {
      var o = n.origin;
      var parts = o.id === null ? [el("span", { text: o.text })] : [nodeButton(o.id)];
      parts.push(el("span", { text: " at " + (o.loc === null ? "unknown" : o.loc) }));
      row(dl, "gradient of", "origin", parts);
    }
    if (n.outputs.length > 0) row(dl, "output", "output", n.outputs.join(", "));
    details.appendChild(dl);
  }

  function select(id, from) {
    if (selected !== null) {
      if (items[selected]) items[selected].classList.remove("selected");
      if (svgNodes[selected]) svgNodes[selected].classList.remove("selected");
      byId[selected].inputs.concat(byId[selected].consumers).forEach(function (r) { if (svgNodes[r]) svgNodes[r].classList.remove("related"); });
    }
    selected = id;
    var n = byId[id];
    var section = sectionOf(id);
    if (section) setExpanded(section, true);
    if (items[id]) {
      items[id].classList.add("selected");
      if (from !== "tree") items[id].scrollIntoView({ block: "nearest" });
    }
    if (svgNodes[id]) {
      svgNodes[id].classList.add("selected");
      n.inputs.concat(n.consumers).forEach(function (r) { if (svgNodes[r]) svgNodes[r].classList.add("related"); });
      if (from !== "picture") svgNodes[id].scrollIntoView({ block: "center", inline: "center" });
    }
    showDetails(n);
    if (history.replaceState) history.replaceState(null, "", "#n" + id);
  }

  Array.prototype.forEach.call(picture.querySelectorAll("g.node"), function (g) {
    var title = g.querySelector("title");
    var m = title && /^n(\\d+)$/.exec(title.textContent.trim());
    if (!m) return;
    var id = Number(m[1]);
    svgNodes[id] = g;
    g.setAttribute("data-node", String(id));
    g.addEventListener("click", function () { select(id, "picture"); });
  });
  Array.prototype.forEach.call(picture.querySelectorAll("g.cluster"), function (g) {
    var title = g.querySelector("title");
    var m = title && /^cluster_(\\d+)$/.exec(title.textContent.trim());
    if (m) g.setAttribute("data-layer", m[1]);
  });

  document.getElementById("expand-all").addEventListener("click", function () {
    Array.prototype.forEach.call(tree.querySelectorAll("section.layer"), function (s) { setExpanded(s, true); });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    Array.prototype.forEach.call(tree.querySelectorAll("section.layer"), function (s) { setExpanded(s, false); });
  });
  document.getElementById("filter").addEventListener("input", function (e) {
    var q = e.target.value.trim().toLowerCase();
    Object.keys(items).forEach(function (id) {
      var n = byId[id];
      var hit = q === "" || (n.label + " " + n.type + " " + (n.loc || "")).toLowerCase().indexOf(q) >= 0;
      items[id].classList.toggle("filtered-out", !hit);
    });
    if (q !== "") Array.prototype.forEach.call(tree.querySelectorAll("section.layer"), function (s) { setExpanded(s, true); });
  });

  var m = /^#n(\\d+)$/.exec(location.hash);
  if (m && byId[Number(m[1])]) select(Number(m[1]), "hash");
})();
`;
