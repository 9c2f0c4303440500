from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "pipelines_admin.audit"
    verbose_name = "Audit trail"
