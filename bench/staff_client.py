"""A logged-in staff browser for the page benches (django.test.Client).

Since the staff login (#14) an administrador must have a second factor and have given it:
``force_login`` alone is sent to enrolment (302). The account here has a confirmed
authenticator app and its session says the code was given, as after a real login; the
login flow itself is what tests/accounts and tests/e2e exercise, not the benches.
"""

import pyotp
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import StaffTotpDevice
from core.roles import ROLE_ADMIN


def staff_client(
    *, username: str = "bench-admin", role: str = ROLE_ADMIN, **client_kwargs
) -> Client:
    user = get_user_model().objects.create_user(username=username, password=None)
    user.groups.add(Group.objects.get(name=role))
    device = StaffTotpDevice.objects.create(
        user=user, name="bench", secret=pyotp.random_base32(), confirmed=True
    )
    client = Client(**client_kwargs)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
