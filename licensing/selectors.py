"""Reads of licence consumption."""

from dataclasses import dataclass

from core.models import AuditEntry
from licensing import hooks
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


def license_stock_get() -> LicenseStock:
    """The single stock row (created by a migration); a missing row reads as 0, unsaved (a
    selector never writes: licensing.services creates it under its lock)."""
    return LicenseStock.objects.filter(id=LicenseStock.SINGLETON_ID).first() or LicenseStock(
        id=LicenseStock.SINGLETON_ID
    )


def license_current_estimate() -> LicenseEstimate:
    """What the installation consumes, from one aggregate query over extensions."""
    physical, fixed_webfon, pool_sizes = hooks.installation_counts(per_pool=False)
    return license_estimate(physical=physical, fixed_webfon=fixed_webfon, pool_sizes=pool_sizes)


def license_usage() -> LicenseUsage:
    return LicenseUsage(stock=license_stock_get().stock, estimate=license_current_estimate())


def license_installation_estimate() -> LicenseEstimate:
    """The installation as calculator input: physical, fixed webfon, and each pool's size."""
    physical, fixed_webfon, pool_sizes = hooks.installation_counts(per_pool=True)
    return license_estimate(physical=physical, fixed_webfon=fixed_webfon, pool_sizes=pool_sizes)


def license_stock_history(limit: int = 50):
    """Changes of the stock, newest first (who, when, from, to), from the audit trail."""
    return AuditEntry.objects.filter(action="license.stock_set").order_by("-created_at", "-id")[
        :limit
    ]
