from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "pipelines_admin.reviews"
    verbose_name = "Reviews: applications a rule sent to a person"
