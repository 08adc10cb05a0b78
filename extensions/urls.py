"""Pages of the extensions app (filled in by the UI work)."""

urlpatterns: list = []
