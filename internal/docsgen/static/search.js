// The search box: the only script of the site. Without it the box stays
// hidden and every page still works; with it, typing filters SEAM_INDEX.
(function () {
  "use strict";
  function start() {
    var box = document.querySelector(".search");
    var input = document.getElementById("search");
    var list = document.getElementById("search-results");
    if (!box || !input || !list || typeof SEAM_INDEX === "undefined") return;
    var root = document.body.getAttribute("data-root") || "";
    var active = -1, shown = [];
    box.hidden = false;
    function render() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.textContent = "";
      shown = [];
      active = -1;
      if (!terms.length) return;
      SEAM_INDEX.forEach(function (e) {
        var name = e.n.toLowerCase(), hay = (e.n + " " + e.t + " " + e.w + " " + e.k).toLowerCase();
        if (!terms.every(function (t) { return hay.indexOf(t) >= 0; })) return;
        var score = name === terms[0] ? 0 : name.indexOf(terms[0]) === 0 ? 1 : name.indexOf(terms[0]) >= 0 ? 2 : 3;
        shown.push({ e: e, s: score });
      });
      shown.sort(function (a, b) { return a.s - b.s || (a.e.n < b.e.n ? -1 : 1); });
      shown = shown.slice(0, 20);
      shown.forEach(function (r) {
        var li = document.createElement("li");
        var k = document.createElement("span");
        k.className = "k";
        k.textContent = r.e.k;
        var a = document.createElement("a");
        a.href = root + r.e.u;
        a.textContent = r.e.n;
        li.appendChild(k);
        li.appendChild(a);
        if (r.e.t) {
          var d = document.createElement("div");
          d.className = "muted";
          d.textContent = r.e.t;
          li.appendChild(d);
        }
        list.appendChild(li);
      });
      if (!shown.length) {
        var li = document.createElement("li");
        li.className = "muted";
        li.textContent = "Nothing matches.";
        list.appendChild(li);
      }
    }
    function highlight(i) {
      var items = list.querySelectorAll("li");
      items.forEach(function (li, j) { li.className = j === i ? "active" : ""; });
      active = i;
    }
    input.addEventListener("input", render);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" && shown.length) { highlight(Math.min(active + 1, shown.length - 1)); ev.preventDefault(); }
      else if (ev.key === "ArrowUp" && shown.length) { highlight(Math.max(active - 1, 0)); ev.preventDefault(); }
      else if (ev.key === "Enter" && shown.length) { window.location.href = root + shown[Math.max(active, 0)].e.u; }
      else if (ev.key === "Escape") { input.value = ""; render(); }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "/" && document.activeElement !== input) { input.focus(); ev.preventDefault(); }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
