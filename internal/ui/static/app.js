// Seam dashboard: the little script the pages use. Everything works
// without it; it only keeps health live and makes selection quicker.
(function () {
  "use strict";

  // Live refresh: every 10 s, while the tab is visible, fetch this same
  // page and swap in the regions marked data-live (matched by id). One
  // render path on the server, no JSON API to keep in step.
  var LIVE_EVERY = 10000;
  function refresh() {
    if (document.hidden) return;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) throw new Error("stale");
        return r.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var fresh = next.getElementById(el.id);
          if (fresh) el.replaceWith(fresh);
        });
        var st = document.querySelector("[data-live-status]");
        if (st) st.textContent = "Health refreshed at " + new Date().toLocaleTimeString() + "; again in 10 s.";
      })
      .catch(function () {
        var st = document.querySelector("[data-live-status]");
        if (st) st.textContent = "Live refresh paused: reload the page (your session may have ended).";
        clearInterval(timer);
      });
  }
  var timer = null;
  if (document.body.hasAttribute("data-live-page") && window.fetch && window.DOMParser) {
    timer = setInterval(refresh, LIVE_EVERY);
  }

  // Dead letters: "select all" and a count of the selected rows.
  var all = document.querySelector("[data-select-all]");
  var counter = document.querySelector("[data-selected-count]");
  var boxes = document.querySelectorAll("input[name='delivery_id'][type='checkbox']");
  function count() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) n++; });
    if (counter) counter.textContent = n ? n + " selected" : "";
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      count();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", count); });

  // Destructive forms ask once more; forms that must not be sent twice
  // disable their buttons once submitted (after the submitter's value has
  // been taken).
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  document.querySelectorAll("form[data-once]").forEach(function (f) {
    f.addEventListener("submit", function () {
      setTimeout(function () {
        f.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
