# The partner key model moved here from prodsim_site (the site wiring app): same table contents,
# renamed, and its content type (so existing permissions and admin history) carried over.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("prodsim_site", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE prodsim_site_partnerapikey RENAME TO partners_partnerapikey",
                    "ALTER TABLE partners_partnerapikey RENAME TO prodsim_site_partnerapikey",
                ),
                migrations.RunSQL(
                    "UPDATE django_content_type SET app_label = 'partners' "
                    "WHERE app_label = 'prodsim_site' AND model = 'partnerapikey'",
                    "UPDATE django_content_type SET app_label = 'prodsim_site' "
                    "WHERE app_label = 'partners' AND model = 'partnerapikey'",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name='PartnerApiKey',
                    fields=[
                        ('id', models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                        ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                        ('hashed_key', models.CharField(editable=False, max_length=150)),
                        ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('name', models.CharField(default=None, help_text='A free-form name for the API key. Need not be unique. 50 characters max.', max_length=50)),
                        ('revoked', models.BooleanField(blank=True, default=False, help_text='If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)')),
                        ('expiry_date', models.DateTimeField(blank=True, help_text='Once API key expires, clients cannot use it anymore.', null=True, verbose_name='Expires')),
                        ('scope', models.CharField(choices=[('read', 'Read'), ('write', 'Write')], default='read', max_length=10)),
                    ],
                    options={
                        'verbose_name': 'partner API key',
                        'verbose_name_plural': 'partner API keys',
                        'ordering': ('-created',),
                        'abstract': False,
                    },
                ),
            ],
        ),
    ]
