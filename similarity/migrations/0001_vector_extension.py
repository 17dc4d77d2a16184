from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector must exist before any embedding table; the embedded server creates it too."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]
