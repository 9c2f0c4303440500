// Draws the dashboards' throughput chart from the JSON the page embeds.
(function () {
  function draw() {
    const source = document.getElementById("throughput-data");
    const canvas = document.getElementById("throughput-chart");
    if (!source || !canvas || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    // every five-minute slot of the window is a bar (empty ones too); over a day, name the day as well
    const times = data.labels.map((iso) => new Date(iso));
    const days = times.length > 1 && times[times.length - 1] - times[0] >= 24 * 3600 * 1000;
    const format = days ? { weekday: "short", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
    const labels = times.map((time) => time.toLocaleString([], format));
    // a week is 2016 slots: let each bar fill its slot so a lone busy one still shows
    const dense = labels.length > 300 ? { barPercentage: 1, categoryPercentage: 1 } : {};
    const series = (label, values, color) => ({
      label, data: values, backgroundColor: color, borderColor: color, stack: "runs", ...dense,
    });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [
          series("passed", data.passed, "#17803d"),
          series("failed", data.failed, "#b42318"),
          series("review", data.review || [], "#0f766e"),
          series("undecided", data.undecided || [], "#6941c6"),
          series("error", data.error, "#b54708"),
        ],
      },
      options: {
        animation: false,
        responsive: true,
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
