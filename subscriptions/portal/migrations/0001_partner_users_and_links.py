# Partner users (a Django user bound to one partner with a role) and the one-time links of POST /portal-sessions.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('subscriptions', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PartnerUser',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.PositiveSmallIntegerField(choices=[(1, 'Viewer'), (2, 'Developer'), (3, 'Admin')], default=1)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='portal_users', to='subscriptions.partner')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='partner_membership', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['partner_id', 'user_id'],
            },
        ),
        migrations.CreateModel(
            name='PortalLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('prefix', models.CharField(max_length=16)),
                ('role', models.PositiveSmallIntegerField(choices=[(1, 'Viewer'), (2, 'Developer'), (3, 'Admin')])),
                ('session_minutes', models.PositiveIntegerField()),
                ('created_by', models.CharField(help_text='The API token (prefix) that asked for the link.', max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='portal_links', to='subscriptions.partner')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
    ]
