"""Mounted under admin/similarity/ ahead of the admin site; every view is wrapped by
`admin_view`, so non-staff users are sent to the admin login like any admin page."""

from django.contrib import admin
from django.urls import path

from .preview import judge_view, preview_view

app_name = "similarity_admin"

urlpatterns = [
    path("preview/", admin.site.admin_view(preview_view), name="preview"),
    path("preview/judge/", admin.site.admin_view(judge_view), name="judge"),
]
