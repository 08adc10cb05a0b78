from rest_framework import serializers


class LicenseSummarySerializer(serializers.Serializer):
    stock = serializers.IntegerField()
    used_physical = serializers.IntegerField()
    used_webfon = serializers.IntegerField()
    used_webfon_fixed = serializers.IntegerField()
    used_webfon_pool = serializers.IntegerField()
    used = serializers.IntegerField()
    free = serializers.IntegerField()
    percent_used = serializers.IntegerField()


class LicenseStockSerializer(serializers.Serializer):
    stock = serializers.IntegerField(min_value=0, max_value=10_000_000)


class LicenseCalculationInputSerializer(serializers.Serializer):
    physical = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    fixed_webfon = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    pool_size = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=10_000_000),
        required=False,
        default=list,
        max_length=100,
        help_text="Size of each pool (users that may be logged in at once); repeat for several pools.",
    )


class LicenseCalculationSerializer(serializers.Serializer):
    physical = serializers.IntegerField()
    fixed_webfon = serializers.IntegerField()
    pool_sizes = serializers.ListField(child=serializers.IntegerField())
    webfon = serializers.IntegerField()
    total = serializers.IntegerField()
    summary = serializers.CharField()
