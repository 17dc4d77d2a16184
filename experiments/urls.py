from django.urls import path

from . import views

app_name = "experiments"

urlpatterns = [path("r/", views.click, name="click")]
