from django.urls import path

from . import views

app_name = "similarity"

urlpatterns = [path("search/photo/", views.visual_search, name="visual-search")]
