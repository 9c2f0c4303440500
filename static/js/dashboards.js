// Draws the dashboards' throughput chart from the JSON the page embeds.
(function () {
  function draw() {
    const source = document.getElementById("throughput-data");
    const canvas = document.getElementById("throughput-chart");
    if (!source || !canvas || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const labels = data.labels.map((iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    const series = (label, values, color) => ({ label, data: values, backgroundColor: color, borderColor: color, stack: "runs" });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [
          series("passed", data.passed, "#17803d"),
          series("failed", data.failed, "#b42318"),
          series("error", data.error, "#b54708"),
        ],
      },
      options: {
        animation: false,
        responsive: true,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
