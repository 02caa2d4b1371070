// The findings table: built from the JSON block with textContent only (no HTML parsing of data),
// filtered and sorted in the page. No network, no globals.
(function () {
  "use strict";
  var source = document.getElementById("findings-data");
  var table = document.getElementById("findings-table");
  if (!source || !table) { return; }
  var data = JSON.parse(source.textContent);
  var tbody = table.tBodies[0];
  var count = document.getElementById("findings-count");
  var total = Number(table.getAttribute("data-total"));
  var filters = {
    sev: document.getElementById("f-severity"),
    rule: document.getElementById("f-rule"),
    team: document.getElementById("f-team"),
    product: document.getElementById("f-product"),
    q: document.getElementById("f-search")
  };
  var KNOWN_SEV = ["info", "low", "medium", "high", "critical"];
  var UNALLOCATED = "(unallocated)";

  function money(n) {
    if (n === null || n === undefined) { return ""; }
    var s = Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return (n < 0 ? "-$" : "$") + s;
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function team(r) { return r.team === "" ? UNALLOCATED : r.team; }

  var rows = data.map(function (r) {
    var tr = document.createElement("tr");
    var sevCell = cell(tr, "");
    var badge = document.createElement("span");
    badge.className = KNOWN_SEV.indexOf(r.sev) >= 0 ? "sev sev-" + r.sev : "sev";
    badge.textContent = r.sev;
    sevCell.appendChild(badge);
    var ruleCell = cell(tr, r.rule + " ");
    var name = document.createElement("span");
    name.className = "muted";
    name.textContent = r.name;
    ruleCell.appendChild(name);
    var acct = cell(tr, r.acct_name + " ");
    var id = document.createElement("span");
    id.className = "id";
    id.textContent = r.acct;
    acct.appendChild(id);
    cell(tr, team(r));
    cell(tr, r.product);
    cell(tr, money(r.cost), "num");
    var over = cell(tr, r.over === null ? (r.cost ? "unknown" : "") : money(r.over), "num");
    if (r.over === null && r.cost) { over.title = "no price basis: overspend unknown"; }
    cell(tr, r.first ? (r.first === r.last ? r.first : r.first + " to " + r.last) : "");
    cell(tr, r.msg + (r.incomplete ? " (data incomplete)" : ""));
    var text = [r.id, r.sev, r.rule, r.name, r.acct, r.acct_name, team(r), r.product, r.msg].join("\n").toLowerCase();
    return { r: r, tr: tr, text: text };
  });

  function fill(select, values) {
    values.forEach(function (v) { select.appendChild(new Option(v, v)); });
  }
  function distinct(key) {
    var seen = {};
    var out = [];
    data.forEach(function (r) {
      var v = key(r);
      if (!Object.prototype.hasOwnProperty.call(seen, v)) { seen[v] = true; out.push(v); }
    });
    return out;
  }
  var bySev = {};
  data.forEach(function (r) { bySev[r.sev] = r.rank; });
  fill(filters.sev, distinct(function (r) { return r.sev; }).sort(function (a, b) { return bySev[b] - bySev[a]; }));
  fill(filters.rule, distinct(function (r) { return r.rule + " " + r.name; }).sort());
  fill(filters.team, distinct(team).sort());
  fill(filters.product, distinct(function (r) { return r.product; }).sort());

  function apply() {
    var q = filters.q.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (x) {
      var r = x.r;
      var ok = (!filters.sev.value || r.sev === filters.sev.value) &&
        (!filters.rule.value || r.rule + " " + r.name === filters.rule.value) &&
        (!filters.team.value || team(r) === filters.team.value) &&
        (!filters.product.value || r.product === filters.product.value) &&
        (!q || x.text.indexOf(q) >= 0);
      x.tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = "Showing " + shown + " of the " + rows.length + " findings listed" +
      (total > rows.length ? " (" + total + " in all: findings.csv has every one)." : ".");
  }

  var KEYS = {
    sev: function (r) { return r.rank; },
    rule: function (r) { return r.rule; },
    account: function (r) { return r.acct_name.toLowerCase(); },
    team: function (r) { return team(r).toLowerCase(); },
    product: function (r) { return r.product.toLowerCase(); },
    cost: function (r) { return r.cost === null ? -Infinity : r.cost; },
    over: function (r) { return r.over === null ? -Infinity : r.over; },
    days: function (r) { return r.first || ""; }
  };
  function sortBy(key, dir) {
    var k = KEYS[key];
    rows.sort(function (a, b) {
      var x = k(a.r);
      var y = k(b.r);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return c * dir || (a.r.id < b.r.id ? -1 : a.r.id > b.r.id ? 1 : 0);
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) { frag.appendChild(x.tr); });
    tbody.appendChild(frag);
  }
  Array.prototype.forEach.call(table.querySelectorAll("th[data-key]"), function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
      Array.prototype.forEach.call(table.querySelectorAll("th[aria-sort]"), function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      sortBy(th.getAttribute("data-key"), dir);
    });
  });

  ["sev", "rule", "team", "product"].forEach(function (k) { filters[k].addEventListener("change", apply); });
  filters.q.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", function () {
    ["sev", "rule", "team", "product", "q"].forEach(function (k) { filters[k].value = ""; });
    apply();
  });
  var frag = document.createDocumentFragment();
  rows.forEach(function (x) { frag.appendChild(x.tr); });
  tbody.appendChild(frag);
  document.getElementById("findings-filters").hidden = false;
  apply();
}());
