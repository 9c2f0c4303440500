// Impact report: draws the chart of the rules whose outcomes changed, from the JSON the
// page embeds (json_script). The finished report always comes as a whole page: while the
// analysis runs, the progress bar polls, and the server answers HX-Refresh once it is done.
(function () {
  const COLORS = { pass: "#17803d", fail: "#b42318", skip: "#98a2b3", error: "#b54708", timeout: "#dc6803" };
  const ROW_PX = 30;

  function draw() {
    const source = document.getElementById("rule-chart-data");
    const canvas = document.getElementById("rule-chart");
    if (!source || !canvas || canvas.dataset.drawn || typeof Chart === "undefined") return;
    canvas.dataset.drawn = "true";
    const data = JSON.parse(source.textContent);
    const box = canvas.parentElement;
    // one row per rule; the Content-Security-Policy allows styles set from a script, not inline ones
    box.style.height = `${Math.max(140, 70 + ROW_PX * data.labels.length)}px`;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.outcomes.map((outcome) => ({
          label: outcome,
          data: data.deltas[outcome],
          backgroundColor: COLORS[outcome] || "#667085",
          stack: "change",
          maxBarThickness: 22,
        })),
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, ticks: { precision: 0 }, title: { display: true, text: "applications (candidate − live)" } },
          y: { stacked: true },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${item.raw > 0 ? "+" : ""}${item.raw}`,
              footer: (items) => items.length ? `${data.changed[items[0].dataIndex]} application(s) changed` : "",
            },
          },
        },
      },
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
