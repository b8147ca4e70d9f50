from django.urls import path

from audit import views

urlpatterns = [
    path("", views.audit_list, name="audit_list"),
    path("export.csv", views.audit_export, {"export_format": "csv"}, name="audit_export_csv"),
    path("export.json", views.audit_export, {"export_format": "json"}, name="audit_export_json"),
]
