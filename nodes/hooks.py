"""What the node renderers need from the apps above nodes (core.registry; registered in their
AppConfig.ready()). nodes sits below users and extensions: the inputs its files take from
them arrive through these providers, never through an import."""

from core.registry import Provider

# True when some webfon user shares a pool (janus' webfon plugin must then clean its queues,
# manual §7.6.3).
pools_in_use = Provider("nodes.pools_in_use")

# The networks exempt from the second factor, as (ip, mask) pairs in network order (serCen.conf).
second_factor_exempt_networks = Provider("nodes.second_factor_exempt_networks")
