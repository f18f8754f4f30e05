"""Mounted under /notifications/."""

from django.urls import path

from . import views

urlpatterns = [
    path("outbox/", views.outbox, name="notifications-outbox"),
    path("preferences/", views.preferences, name="notification-preferences"),
]
