from django.urls import path

from wallets import apis

urlpatterns = [
    path("products/", apis.ProductsApi.as_view(), name="products"),
    path("cardholders/", apis.CardholdersApi.as_view(), name="cardholders"),
    path("cardholders/<str:customer_id>", apis.CardholderDetailApi.as_view(), name="cardholder-detail"),
    path("wallets/", apis.WalletsApi.as_view(), name="wallets"),
    path("wallets/<str:wallet_id>", apis.WalletDetailApi.as_view(), name="wallet-detail"),
    path("wallets/<str:wallet_id>/status", apis.WalletStatusApi.as_view(), name="wallet-status"),
    path(
        "wallets/<str:wallet_id>/status-history", apis.WalletStatusHistoryApi.as_view(), name="wallet-status-history"
    ),
    path("cards/", apis.CardsApi.as_view(), name="cards"),
    path("cards/<str:card_id>", apis.CardDetailApi.as_view(), name="card-detail"),
    path("cards/<str:card_id>/transactions", apis.CardTransactionsApi.as_view(), name="card-transactions"),
    path("cards/<str:card_id>/reissue", apis.CardReissueApi.as_view(), name="card-reissue"),
    path("simulate/transactions", apis.SimulateTransactionApi.as_view(), name="simulate-transactions"),
]
