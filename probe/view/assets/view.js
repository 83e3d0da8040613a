// probe view: sorting, filtering and deep links for the static run browser. No dependencies, no network
// (except, when the site is served over http, polling its own _build.json to reload after a rebuild).
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.trim() : v;
  }

  function compare(a, b) {
    if (a === "" && b === "") return 0;
    if (a === "") return 1; // missing values last, either direction
    if (b === "") return -1;
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { numeric: true });
  }

  function makeSortable(tbl) {
    var heads = tbl.tHead ? tbl.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      function sort() {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = tbl.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = cellValue(r1, index), b = cellValue(r2, index);
          if (a === "" || b === "") return compare(a, b);
          return dir === "ascending" ? compare(a, b) : compare(b, a);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  }

  function controls(tableId) {
    return document.querySelectorAll("[data-filter][data-table='" + tableId + "']");
  }

  function applyFilters(tableId) {
    var tbl = document.getElementById(tableId);
    if (!tbl) return;
    var active = [];
    controls(tableId).forEach(function (c) {
      var v = c.value.trim();
      if (v !== "") active.push([c.getAttribute("data-filter"), v.toLowerCase()]);
    });
    var shown = 0, rows = tbl.tBodies[0].rows;
    Array.prototype.forEach.call(rows, function (row) {
      var ok = active.every(function (f) {
        if (f[0] === "text") return row.textContent.toLowerCase().indexOf(f[1]) !== -1;
        return (row.getAttribute("data-" + f[0]) || "").toLowerCase() === f[1];
      });
      row.hidden = !ok;
      if (ok) shown++;
    });
    var count = document.querySelector("[data-count-for='" + tableId + "']");
    if (count) count.textContent = shown + " of " + rows.length + " shown";
  }

  function clearFilters(tableId) {
    controls(tableId).forEach(function (c) { c.value = ""; });
    applyFilters(tableId);
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var el = document.getElementById(id);
    if (!el) return;
    var tbl = el.closest("table");
    if (tbl && el.hidden) clearFilters(tbl.id);
    if (el.tagName === "DETAILS") el.open = true;
    document.querySelectorAll(".target").forEach(function (t) { t.classList.remove("target"); });
    el.classList.add("target");
    el.scrollIntoView({ block: "center" });
  }

  function liveReload() {
    if (location.protocol !== "http:" && location.protocol !== "https:") return;
    var root = document.body.getAttribute("data-root") || "./";
    var current = null;
    function poll() {
      fetch(root + "_build.json", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (d) {
        if (current === null) current = d.build;
        else if (d.build !== current) location.reload();
      }).catch(function () {}).then(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  document.querySelectorAll("table.sortable").forEach(makeSortable);
  var tables = {};
  document.querySelectorAll("[data-filter][data-table]").forEach(function (c) {
    var t = c.getAttribute("data-table");
    tables[t] = true;
    c.addEventListener(c.tagName === "INPUT" ? "input" : "change", function () { applyFilters(t); });
  });
  Object.keys(tables).forEach(applyFilters);
  window.addEventListener("hashchange", openTarget);
  openTarget();
  liveReload();
  document.body.setAttribute("data-ready", "1");
})();
