"""What licensing needs from the apps above it (core.registry; registered in their
AppConfig.ready()). extensions sits above licensing (it asks for licences before creating);
the licences in use are counted over extensions through this provider."""

from core.registry import Provider

# What consumes licences, called with per_pool= (False: one aggregate query, every pooled
# extension counted as one pool): answers (physical, fixed_webfon, pool_sizes).
installation_counts = Provider("licensing.installation_counts")
