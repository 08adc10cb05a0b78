import pytest

from extensions.models import Template


@pytest.mark.django_db
def test_system_template_exists():
    assert Template.objects.filter(is_system=True).count() == 1
