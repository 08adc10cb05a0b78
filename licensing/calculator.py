"""The licence arithmetic of manual §7.3, in one pure function.

Used by the sales calculator, the API and the enforcement of the stock.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class LicenseEstimate:
    """Licences needed by an installation and their breakdown."""

    physical: int
    fixed_webfon: int
    pool_sizes: tuple[int, ...]

    @property
    def pooled_webfon(self) -> int:
        return sum(self.pool_sizes)

    @property
    def webfon(self) -> int:
        return self.fixed_webfon + self.pooled_webfon

    @property
    def total(self) -> int:
        return self.physical + self.webfon

    def summary(self) -> str:
        """As the manual writes it: "100 extensiones HARD + 25 extensiones WEBFON = 125 licencias"."""
        return _(
            "%(physical)d extensiones HARD + %(webfon)d extensiones WEBFON = %(total)d licencias"
        ) % {"physical": self.physical, "webfon": self.webfon, "total": self.total}


def license_estimate(
    *, physical: int, fixed_webfon: int, pool_sizes: Iterable[int] = ()
) -> LicenseEstimate:
    """Licences = physical extensions + fixed webfon extensions + members of every pool."""
    sizes = tuple(pool_sizes)
    for label, value in (
        ("physical", physical),
        ("fixed_webfon", fixed_webfon),
        *(("pool_size", s) for s in sizes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
    return LicenseEstimate(physical=physical, fixed_webfon=fixed_webfon, pool_sizes=sizes)
