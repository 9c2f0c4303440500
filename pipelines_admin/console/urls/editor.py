"""Config editing pages: rule editor, stage settings, raw editor."""

from django.urls import path

from pipelines_admin.console.views import editor

urlpatterns: list = [
    path("edit/", editor.config_edit, name="config-edit"),
    path("stages/<str:stage>/edit/", editor.stage_edit, name="stage-edit"),
    path("stages/<str:stage>/validate/", editor.stage_validate, name="stage-validate"),
    path("stages/<str:stage>/rules/add/", editor.rule_add, name="rule-add"),
    path("stages/<str:stage>/rules/validate/", editor.rule_validate, name="rule-validate"),
    path("stages/<str:stage>/rules/<str:rule>/edit/", editor.rule_edit, name="rule-edit"),
    path("stages/<str:stage>/rules/<str:rule>/remove/", editor.rule_remove, name="rule-remove"),
    path("stages/<str:stage>/rules/<str:rule>/move/", editor.rule_move, name="rule-move"),
]
