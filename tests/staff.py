"""Admin test users: staff with exactly the permissions a test names, and a non-staff shopper."""

from django.contrib.auth.models import Permission, User


def staff_user(*perms: str, username: str = "staff") -> User:
    """A staff (not superuser) account holding only `perms` ("app_label.codename")."""
    user = User.objects.create_user(username=username, password="x", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def login(client, user: User):
    client.force_login(user)
    return client


def non_staff_user() -> User:
    return User.objects.create_user(username="shopper", password="x")
