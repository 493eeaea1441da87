// drawdown dashboard: charts (Chart.js over /dashboard/api JSON), copy buttons, dialogs,
// confirmations and filter-clause rows. No inline scripts (the pages' CSP forbids them).
(function () {
  "use strict";
  const charts = {};

  function controlsFor(canvas) {
    return document.querySelector('[data-chart-controls="' + canvas.id + '"]');
  }

  function chartUrl(canvas) {
    const controls = controlsFor(canvas);
    const params = new URLSearchParams();
    let src = canvas.dataset.chartSrc;
    if (controls) {
      controls.querySelectorAll("select, input").forEach(function (el) {
        if (el.name === "meter") { src = src.replace("{meter}", encodeURIComponent(el.value)); }
        else { params.set(el.name, el.value); }
      });
    }
    if (canvas.dataset.customer) { params.set("customer_id", canvas.dataset.customer); }
    return src + "?" + params.toString();
  }

  function draw(canvas) {
    fetch(chartUrl(canvas), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        const values = data.values.map(function (v) { return v === null ? null : Number(v); });
        canvas.dataset.total = data.total === null ? "" : data.total;
        canvas.dataset.points = String(values.filter(function (v) { return v; }).length);
        if (charts[canvas.id]) { charts[canvas.id].destroy(); }
        charts[canvas.id] = new Chart(canvas, {
          type: data.kind,
          data: { labels: data.labels, datasets: [{
            label: data.unit || "quantity", data: values, borderColor: "#4f46e5",
            backgroundColor: data.kind === "bar" ? "rgba(79,70,229,0.75)" : "rgba(79,70,229,0.12)",
            fill: data.kind !== "bar", tension: 0.25, pointRadius: values.length > 60 ? 0 : 3, borderWidth: 2,
          }] },
          options: {
            responsive: true, maintainAspectRatio: false, animation: false,
            plugins: { legend: { display: false },
              title: { display: true, text: "Total: " + (data.total || "0") + " " + (data.unit || ""), align: "end", color: "#64748b" } },
            scales: { y: { beginAtZero: true, grid: { color: "#eef2f7" } }, x: { grid: { display: false }, ticks: { maxTicksLimit: 12 } } },
          },
        });
        canvas.dataset.ready = "true";
      })
      .catch(function (status) { canvas.dataset.ready = "error:" + status; });
  }

  function initCharts(root) {
    root.querySelectorAll("canvas[data-chart-src]").forEach(function (canvas) {
      draw(canvas);
      const controls = controlsFor(canvas);
      if (controls && !controls.dataset.bound) {
        controls.dataset.bound = "1";
        controls.addEventListener("change", function () { draw(canvas); });
      }
    });
  }

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const text = copy.dataset.copy;
      const done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, done); }
      else { done(); }
      return;
    }
    const close = event.target.closest("[data-close]");
    if (close) {
      const dialog = close.closest("dialog");
      if (close.hasAttribute("data-refresh")) { window.location.reload(); }
      else if (dialog) { dialog.remove(); }
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) { remove.closest(".clause-row").remove(); }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    initCharts(document);
    const func = document.getElementById("aggregation-func");
    const prop = document.getElementById("aggregation-property");
    if (func && prop) {
      const sync = function () { prop.disabled = func.value === "count"; };
      func.addEventListener("change", sync); sync();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { initCharts(event.target); });
})();
