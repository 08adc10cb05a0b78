"""Reads of licence consumption."""

from dataclasses import dataclass

from django.db.models import Count, Q

from licensing.calculator import LicenseEstimate, license_estimate
from licensing.models import LicenseStock


@dataclass(frozen=True)
class LicenseUsage:
    """Stock against what the installation consumes now."""

    stock: int
    estimate: LicenseEstimate

    @property
    def used(self) -> int:
        return self.estimate.total

    @property
    def free(self) -> int:
        return self.stock - self.used

    @property
    def percent_used(self) -> int:
        return round(100 * self.used / self.stock) if self.stock else (100 if self.used else 0)


def license_stock_get(*, for_update: bool = False) -> LicenseStock:
    qs = LicenseStock.objects.select_for_update() if for_update else LicenseStock.objects
    stock, _created = qs.get_or_create(id=LicenseStock.SINGLETON_ID)
    return stock


def license_current_estimate() -> LicenseEstimate:
    """What the installation consumes, from one aggregate query over extensions."""
    from extensions.models import Extension

    counts = Extension.objects.aggregate(
        physical=Count("id", filter=Q(kind=Extension.Kind.PHYSICAL)),
        fixed_webfon=Count("id", filter=Q(kind=Extension.Kind.WEBFON, pool__isnull=True)),
        pooled=Count("id", filter=Q(kind=Extension.Kind.WEBFON, pool__isnull=False)),
    )
    return license_estimate(
        physical=counts["physical"],
        fixed_webfon=counts["fixed_webfon"],
        pool_sizes=(counts["pooled"],) if counts["pooled"] else (),
    )


def license_usage() -> LicenseUsage:
    return LicenseUsage(stock=license_stock_get().stock, estimate=license_current_estimate())


def license_installation_estimate() -> LicenseEstimate:
    """The installation as calculator input: physical, fixed webfon, and each pool's size."""
    from extensions.models import Extension

    estimate = license_current_estimate()
    sizes = (
        Extension.objects.filter(kind=Extension.Kind.WEBFON, pool__isnull=False)
        .values("pool")
        .annotate(size=Count("id"))
        .order_by("pool")
        .values_list("size", flat=True)
    )
    return license_estimate(
        physical=estimate.physical, fixed_webfon=estimate.fixed_webfon, pool_sizes=list(sizes)
    )


def license_stock_history(limit: int = 50):
    """Changes of the stock, newest first (who, when, from, to), from the audit trail."""
    from portal.models import AuditEntry

    return AuditEntry.objects.filter(action="license.stock_set").order_by("-created_at", "-id")[
        :limit
    ]
