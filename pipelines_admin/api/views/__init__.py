"""API views by area; each handler is one operation: validate, call a service, serialize."""
