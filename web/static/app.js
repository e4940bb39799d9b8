// followup: a little progressive enhancement. Every page works without it.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="ID"> copies the text or value of #ID.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) { return; }
      var text = el.value !== undefined && el.tagName === "INPUT" ? el.value : el.textContent;
      var label = btn.textContent;
      var done = function () {
        btn.textContent = "Copied";
        setTimeout(function () { btn.textContent = label; }, 1500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(el, done); });
      } else {
        fallback(el, done);
      }
    });
  });

  function fallback(el, done) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
  }

  // Time zone pickers: preselect the browser's zone on setup, and filter
  // the list as the user types.
  document.querySelectorAll("select[data-detect]").forEach(function (sel) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (zone && sel.querySelector('option[value="' + zone.replace(/"/g, "") + '"]')) {
      sel.value = zone;
    }
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var sel = document.getElementById(input.getAttribute("data-filter"));
    if (!sel) { return; }
    input.hidden = false;
    var label = document.querySelector('label[for="' + input.id + '"]');
    if (label) { label.hidden = false; }
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().replace(/ /g, "_");
      var first = null;
      Array.prototype.forEach.call(sel.options, function (o) {
        var show = o.value.toLowerCase().indexOf(q) >= 0;
        o.hidden = !show;
        if (show && !first) { first = o; }
      });
      if (first && sel.selectedOptions.length && sel.selectedOptions[0].hidden) { sel.value = first.value; }
    });
  });

  // On a phone the menu scrolls sideways: bring the current page into view.
  // The first item ("+ Log") stays put, so the current one goes just after it.
  // Tab brings each link fully into view too: Chromium stops short of it.
  document.querySelectorAll("nav ul").forEach(function (ul) {
    var first = ul.firstElementChild;
    if (!first) { return; }
    var reveal = function (el, always) {
      var r = el.getBoundingClientRect(), box = ul.getBoundingClientRect();
      var left = first.getBoundingClientRect().right + 12, right = box.right - 24; // "+ Log", the fade
      if (always || r.right > right) {
        ul.scrollLeft += r.left - left;
      } else if (r.left < left) {
        ul.scrollLeft -= left - r.left;
      }
    };
    var cur = ul.querySelector('[aria-current="page"]');
    if (cur && !first.contains(cur) && ul.scrollWidth > ul.clientWidth) {
      var li = cur.closest("li");
      if (li.getBoundingClientRect().right > ul.getBoundingClientRect().right - 24) { reveal(li, true); }
    }
    ul.addEventListener("focusin", function (ev) {
      if (!first.contains(ev.target) && ul.scrollWidth > ul.clientWidth) { reveal(ev.target.closest("li"), false); }
    });
  });

  // Forms that change something ask first when they say so.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });

  // The one-line form shows how the line will be read as the user types:
  // the server reads it (nothing is stored) and the parts appear below.
  document.querySelectorAll("input[data-preview]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("data-preview"));
    var csrf = input.form && input.form.querySelector("input[name=csrf]");
    if (!out || !csrf || !window.fetch) { return; }
    var timer = null, asked = 0;
    var show = function (answer) {
      out.textContent = "";
      if (answer.error) {
        var p = document.createElement("p");
        p.textContent = answer.error;
        out.appendChild(p);
      } else if (answer.parts) {
        var dl = document.createElement("dl");
        dl.className = "facts";
        answer.parts.forEach(function (part) {
          var dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = part.label;
          dd.textContent = part.value + (part.source === "line" ? "" : " (default)");
          dl.appendChild(dt);
          dl.appendChild(dd);
        });
        out.appendChild(dl);
      }
      out.hidden = !out.firstChild;
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      if (!input.value.trim()) { show({}); return; }
      timer = setTimeout(function () {
        var n = ++asked;
        var body = new URLSearchParams({ csrf: csrf.value, text: input.value });
        fetch("/commitments/quick/preview", { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { return r.status === 200 || r.status === 422 ? r.json() : {}; })
          .then(function (answer) { if (n === asked) { show(answer); } }, function () { /* no preview */ });
      }, 350);
    });
  });

  // A card file chosen on the log form is read at once, as its "Read card"
  // button does without script.
  document.querySelectorAll("input[data-read-card]").forEach(function (input) {
    input.addEventListener("change", function () {
      var btn = document.getElementById(input.getAttribute("data-read-card"));
      if (btn && input.files && input.files.length) { btn.click(); }
    });
  });

  // A double tap sends the form once (the idempotency key guards the server too).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
