"""Console pages, one module per area. Views parse the request, call a service or a
selector, and render; on an htmx request they render only the named partial."""
