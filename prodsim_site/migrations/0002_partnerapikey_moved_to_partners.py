# PartnerApiKey now lives in the partners app (partners.0001 renames its table).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("prodsim_site", "0001_initial"),
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PartnerApiKey")],
        ),
    ]
