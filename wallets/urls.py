from django.urls import path

from wallets.apis.card_status import CardActivateApi, CardBlockApi, CardCloseApi, CardLockApi, CardUnlockApi
from wallets.apis.cardholders import (
    CardholderDetailApi,
    CardholderInvalidDestinationApi,
    CardholderPreferenceLinkApi,
    CardholdersApi,
)
from wallets.apis.cards import CardDetailApi, CardReissueApi, CardsApi, CardTransactionsApi
from wallets.apis.inbox import InboxApi, InboxEntryReadApi, InboxReadAllApi, InboxUnreadCountApi
from wallets.apis.products import ProductsApi
from wallets.apis.simulate import SimulateTransactionApi
from wallets.apis.wallets import WalletDetailApi, WalletsApi, WalletStatusApi, WalletStatusHistoryApi

urlpatterns = [
    path("products/", ProductsApi.as_view(), name="products"),
    path("cardholders/", CardholdersApi.as_view(), name="cardholders"),
    path("cardholders/<str:customer_id>", CardholderDetailApi.as_view(), name="cardholder-detail"),
    path("cardholders/<str:customer_id>/invalid-destinations/<str:channel>",
         CardholderInvalidDestinationApi.as_view(), name="cardholder-invalid-destination"),
    path("cardholders/<str:customer_id>/preference-link", CardholderPreferenceLinkApi.as_view(),
         name="cardholder-preference-link"),
    path("cardholders/<str:customer_id>/inbox", InboxApi.as_view(), name="cardholder-inbox"),
    path("cardholders/<str:customer_id>/inbox/unread-count", InboxUnreadCountApi.as_view(),
         name="cardholder-inbox-unread-count"),
    path("cardholders/<str:customer_id>/inbox/read-all", InboxReadAllApi.as_view(), name="cardholder-inbox-read-all"),
    path("cardholders/<str:customer_id>/inbox/<int:entry_id>/read", InboxEntryReadApi.as_view(),
         name="cardholder-inbox-read"),
    path("wallets/", WalletsApi.as_view(), name="wallets"),
    path("wallets/<str:wallet_id>", WalletDetailApi.as_view(), name="wallet-detail"),
    path("wallets/<str:wallet_id>/status", WalletStatusApi.as_view(), name="wallet-status"),
    path("wallets/<str:wallet_id>/status-history", WalletStatusHistoryApi.as_view(), name="wallet-status-history"),
    path("cards/", CardsApi.as_view(), name="cards"),
    path("cards/<str:card_id>", CardDetailApi.as_view(), name="card-detail"),
    path("cards/<str:card_id>/transactions", CardTransactionsApi.as_view(), name="card-transactions"),
    path("cards/<str:card_id>/reissue", CardReissueApi.as_view(), name="card-reissue"),
    path("cards/<str:card_id>/activate", CardActivateApi.as_view(), name="card-activate"),
    path("cards/<str:card_id>/lock", CardLockApi.as_view(), name="card-lock"),
    path("cards/<str:card_id>/unlock", CardUnlockApi.as_view(), name="card-unlock"),
    path("cards/<str:card_id>/block", CardBlockApi.as_view(), name="card-block"),
    path("cards/<str:card_id>/close", CardCloseApi.as_view(), name="card-close"),
    path("simulate/transactions", SimulateTransactionApi.as_view(), name="simulate-transactions"),
]
