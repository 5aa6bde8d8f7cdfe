"""Fixtures of the wallets tests: a wallet with a card, another tenant, tokens of each level, the Support group, the
cardholder's card on a product (customer messages, preferences, inbox)."""

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group

from tests.factories import CardFactory, PartnerFactory, ProductFactory, WalletFactory

_support_migration = importlib.import_module("wallets.migrations.0003_support_group")


@pytest.fixture
def other_partner(db):
    return PartnerFactory(tenant_id="globex", name="Globex Payments")


@pytest.fixture
def wallet(partner):
    return WalletFactory(partner=partner, balance=1000)


@pytest.fixture
def card(wallet):
    return CardFactory(partner=wallet.partner, wallet=wallet)


@pytest.fixture
def reader_client(partner, make_client):
    """A level-1 (read-only) token."""
    return make_client(partner, level=1)


@pytest.fixture
def admin_token_client(partner, make_client):
    """A level-3 (admin) token."""
    return make_client(partner, level=3)


@pytest.fixture
def support_group(db) -> Group:
    """The group created by the data migration. Transactional tests flush every table (the group included) and
    --reuse-db keeps that state, so re-apply the migration's own function when the row is missing."""
    if not Group.objects.filter(name=_support_migration.SUPPORT_GROUP).exists():
        _support_migration.create_support_group(global_apps, None)
    return Group.objects.get(name=_support_migration.SUPPORT_GROUP)


@pytest.fixture
def holder_card(partner, holder):
    """`holder`'s card K77 on the partner's "travel" product."""
    product = ProductFactory(partner=partner, code="travel")
    return CardFactory(partner=partner, kit_no="K77", last4="4242",
                       wallet=WalletFactory(partner=partner, cardholder=holder, product=product))
