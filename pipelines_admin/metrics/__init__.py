"""/metrics: the console's Prometheus metrics, read from the database at scrape time."""
