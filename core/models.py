"""core's one table: generation bumps Valkey missed (core.generations)."""

from django.db import models


class MissedBump(models.Model):
    """A generation token Valkey could not replace when a change committed (unreachable for a
    moment): beat replaces it once Valkey answers again, so the copies kept under the old token
    do not outlive the change by their whole lifetime."""

    key = models.CharField(max_length=300, unique=True)
    timeout = models.FloatField(null=True)  # the token's lifetime as the bump asked (None: none)
    missed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} (missed {self.missed_at:%Y-%m-%d %H:%M})"
