// Live preview of a notification template: posts the draft to the admin's preview endpoint (same session and
// CSRF token as the form) and shows the rendered sample or the error naming the variable and line.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    var panel = document.getElementById("template-preview");
    if (!panel) { return; }
    var form = panel.closest("form");
    var url = panel.dataset.previewUrl;
    var statusEl = document.getElementById("preview-status");
    var subjectEl = document.getElementById("preview-subject");
    var bodyEl = document.getElementById("preview-body");
    var varsEl = document.getElementById("preview-variables");
    var timer = null;
    var seq = 0;

    function value(name) {
      var el = form.elements.namedItem(name);
      return el ? el.value : "";
    }

    function showVariables(variables) {
      varsEl.textContent = "";
      (variables || []).forEach(function (v) {
        var row = document.createElement("tr");
        [v.name, v.description, v.example].forEach(function (text, i) {
          var cell = document.createElement("td");
          if (i === 0) {
            var code = document.createElement("code");
            code.textContent = "{{ " + text + " }}";
            cell.appendChild(code);
          } else {
            cell.textContent = text;
          }
          row.appendChild(cell);
        });
        varsEl.appendChild(row);
      });
    }

    function refresh() {
      var mine = ++seq;
      var data = new FormData();
      data.append("event_name", value("event_name"));
      data.append("subject", value("subject"));
      data.append("body", value("body"));
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": value("csrfmiddlewaretoken") }
      })
        .then(function (response) { return response.json(); })
        .then(function (result) {
          if (mine !== seq) { return; }  // a newer request is on its way
          showVariables(result.variables);
          if (result.ok) {
            statusEl.className = "preview-status ok";
            statusEl.textContent = "Template is valid.";
            subjectEl.textContent = result.subject;
            bodyEl.textContent = result.body;
          } else {
            statusEl.className = "preview-status error";
            statusEl.textContent = (result.field ? result.field + ": " : "") + result.error;
          }
        })
        .catch(function (err) {
          statusEl.className = "preview-status error";
          statusEl.textContent = "Preview unavailable: " + err;
        });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    }

    ["event_name", "channel", "subject", "body"].forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (el) {
        el.addEventListener("input", schedule);
        el.addEventListener("change", schedule);
      }
    });
    document.getElementById("preview-refresh").addEventListener("click", refresh);
    refresh();
  });
})();
