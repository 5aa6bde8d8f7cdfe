"""The "Support" group of the support console: view access to wallets, cards, cardholders, products and status
history, plus `wallets.unblock_wallet` (the only way to lift BLOCKED or FRAUD)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support"
SUPPORT_PERMISSIONS = [
    "view_wallet",
    "view_card",
    "view_cardholder",
    "view_product",
    "view_walletstatustransition",
    "unblock_wallet",
]


def create_support_group(apps, schema_editor):
    # Permissions are normally created after the whole migrate run (post_migrate); create this app's now so the
    # group can reference them on a fresh database.
    wallets_config = apps.get_app_config("wallets")
    models_module = getattr(wallets_config, "models_module", None)
    # create_permissions skips an app without a models module, which is what a migration's app stub looks like.
    wallets_config.models_module = models_module or True
    try:
        create_permissions(wallets_config, apps=apps, verbosity=0)
    finally:
        wallets_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    permissions = Permission.objects.filter(content_type__app_label="wallets", codename__in=SUPPORT_PERMISSIONS)
    group.permissions.add(*permissions)


def delete_support_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPPORT_GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wallets", "0002_reissue_transactions_idempotency"),
    ]

    operations = [migrations.RunPython(create_support_group, delete_support_group)]
