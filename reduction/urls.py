"""Migration plan pages (issue 17): ``/plans/``, a plan, and a key's new plan."""

from django.urls import path

from . import views

urlpatterns = [
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/advance/", views.plan_advance_view, name="plan-advance"),
    path("keys/<int:pk>/plan/", views.plan_new, name="plan-new"),
]
