"""The REST API (Django REST Framework): one view per operation, each calling the same
services and selectors as the console, documented as OpenAPI 3 by drf-spectacular."""
