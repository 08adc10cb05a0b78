from django.urls import path

from licensing import views

urlpatterns = [
    path("", views.LicenseSummaryView.as_view(), name="license_summary"),
    path("calculadora/", views.LicenseCalculatorView.as_view(), name="license_calculator"),
]
