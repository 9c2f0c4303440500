"""Pipeline pages: overview (graph and environment matrix), versions, environments."""
from django.urls import path

urlpatterns: list = []
