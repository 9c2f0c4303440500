"""Config editing pages: rule editor, stage settings, raw editor."""
from django.urls import path

urlpatterns: list = []
