"""Pages of the users app (filled in by the UI work)."""

urlpatterns: list = []
