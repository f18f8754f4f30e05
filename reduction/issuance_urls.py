"""Issuance requests, under ``/issuance/`` (config/urls.py)."""

from django.urls import path

from . import issuance_views as views

urlpatterns = [
    path("", views.issuance_list, name="issuance-list"),
    path("new/", views.issuance_new, name="issuance-new"),
    path("<int:pk>/", views.issuance_detail, name="issuance-detail"),
    path("issued-without-request/", views.unrequested_keys, name="issuance-unrequested-keys"),
]
