# Sample customer-notification templates: every customer-facing catalog event on SMS, EMAIL and PUSH in "en", and a
# few in "hi" to show the locale fallback. They are the platform defaults (no product); partners override them per
# product. The texts are frozen here (not imported) so the migration never changes with the code.

from django.db import migrations

# (event_name, channel, locale, subject, body)
SAMPLES = [
    ("KIT_STATUS_UPDATE", "SMS", "en", "", "Your card {{ maskedCardNumber }} is now {{ newStatus }} (it was {{ previousStatus }})."),
    ("KIT_STATUS_UPDATE", "EMAIL", "en", "Card status updated", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} is now {{ newStatus }} (it was {{ previousStatus }}).\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("KIT_STATUS_UPDATE", "PUSH", "en", "Card status updated", "Your card {{ maskedCardNumber }} is now {{ newStatus }} (it was {{ previousStatus }})."),
    ("TRANSACTION_NOTIFICATION", "SMS", "en", "", "{% if status == 'DECLINED' %}A transaction of {{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}.{% else %}{{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}.{% endif %}"),
    ("TRANSACTION_NOTIFICATION", "EMAIL", "en", "Card transaction", "Dear {{ cardholderName }},\n\n{% if status == 'DECLINED' %}A transaction of {{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}.{% else %}{{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}.{% endif %}\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("TRANSACTION_NOTIFICATION", "PUSH", "en", "Card transaction", "{% if status == 'DECLINED' %}A transaction of {{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}.{% else %}{{ currency }} {{ amount }} at {{ merchantName }} on card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}.{% endif %}"),
    ("KIT_INACTIVATION_NOTIFICATION", "SMS", "en", "", "Your card {{ maskedCardNumber }} has been inactivated because it has not been used since {{ lastActivityAt }}. Contact us to reactivate it."),
    ("KIT_INACTIVATION_NOTIFICATION", "EMAIL", "en", "Card inactivated", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} has been inactivated because it has not been used since {{ lastActivityAt }}. Contact us to reactivate it.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("KIT_INACTIVATION_NOTIFICATION", "PUSH", "en", "Card inactivated", "Your card {{ maskedCardNumber }} has been inactivated because it has not been used since {{ lastActivityAt }}. Contact us to reactivate it."),
    ("KIT_INACTIVATION_ADVANCE_NOTIFICATION", "SMS", "en", "", "Your card {{ maskedCardNumber }} will be inactivated on {{ inactivationDate }} (in {{ daysLeft }} days) unless you use it."),
    ("KIT_INACTIVATION_ADVANCE_NOTIFICATION", "EMAIL", "en", "Use your card to keep it active", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} will be inactivated on {{ inactivationDate }} (in {{ daysLeft }} days) unless you use it.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("KIT_INACTIVATION_ADVANCE_NOTIFICATION", "PUSH", "en", "Use your card to keep it active", "Your card {{ maskedCardNumber }} will be inactivated on {{ inactivationDate }} (in {{ daysLeft }} days) unless you use it."),
    ("KIT_EXPIRY_NOTIFICATION", "SMS", "en", "", "Your card {{ maskedCardNumber }} expired on {{ expiryDate }}."),
    ("KIT_EXPIRY_NOTIFICATION", "EMAIL", "en", "Card expired", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} expired on {{ expiryDate }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("KIT_EXPIRY_NOTIFICATION", "PUSH", "en", "Card expired", "Your card {{ maskedCardNumber }} expired on {{ expiryDate }}."),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "SMS", "en", "", "Your card {{ maskedCardNumber }} expires on {{ expiryDate }}, in {{ daysLeft }} days."),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "EMAIL", "en", "Card expiring soon", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} expires on {{ expiryDate }}, in {{ daysLeft }} days.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "PUSH", "en", "Card expiring soon", "Your card {{ maskedCardNumber }} expires on {{ expiryDate }}, in {{ daysLeft }} days."),
    ("CARD_RENEWAL", "SMS", "en", "", "Your card ending {{ previousLast4 }} is being renewed. The new card {{ maskedCardNumber }} is valid until {{ expiryDate }}."),
    ("CARD_RENEWAL", "EMAIL", "en", "Your card is being renewed", "Dear {{ cardholderName }},\n\nYour card ending {{ previousLast4 }} is being renewed. The new card {{ maskedCardNumber }} is valid until {{ expiryDate }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_RENEWAL", "PUSH", "en", "Your card is being renewed", "Your card ending {{ previousLast4 }} is being renewed. The new card {{ maskedCardNumber }} is valid until {{ expiryDate }}."),
    ("CARD_ISSUED", "SMS", "en", "", "Welcome, {{ firstName }}! Your card {{ maskedCardNumber }} has been issued."),
    ("CARD_ISSUED", "EMAIL", "en", "Your new card", "Dear {{ cardholderName }},\n\nWelcome, {{ firstName }}! Your card {{ maskedCardNumber }} has been issued.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_ISSUED", "PUSH", "en", "Your new card", "Welcome, {{ firstName }}! Your card {{ maskedCardNumber }} has been issued."),
    ("CARD_ACTIVATED", "SMS", "en", "", "Your card {{ maskedCardNumber }} is now active."),
    ("CARD_ACTIVATED", "EMAIL", "en", "Card activated", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} is now active.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_ACTIVATED", "PUSH", "en", "Card activated", "Your card {{ maskedCardNumber }} is now active."),
    ("CARD_BLOCKED", "SMS", "en", "", "Your card {{ maskedCardNumber }} has been blocked{% if reason %} ({{ reason }}){% endif %}. If you did not ask for this, contact us now."),
    ("CARD_BLOCKED", "EMAIL", "en", "Card blocked", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} has been blocked{% if reason %} ({{ reason }}){% endif %}. If you did not ask for this, contact us now.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_BLOCKED", "PUSH", "en", "Card blocked", "Your card {{ maskedCardNumber }} has been blocked{% if reason %} ({{ reason }}){% endif %}. If you did not ask for this, contact us now."),
    ("CARD_CLOSED", "SMS", "en", "", "Your card {{ maskedCardNumber }} has been closed permanently."),
    ("CARD_CLOSED", "EMAIL", "en", "Card closed", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} has been closed permanently.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_CLOSED", "PUSH", "en", "Card closed", "Your card {{ maskedCardNumber }} has been closed permanently."),
    ("CARD_PIN_CHANGED", "SMS", "en", "", "The PIN of your card {{ maskedCardNumber }} was changed. If this wasn't you, contact us now."),
    ("CARD_PIN_CHANGED", "EMAIL", "en", "Card PIN changed", "Dear {{ cardholderName }},\n\nThe PIN of your card {{ maskedCardNumber }} was changed. If this wasn't you, contact us now.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_PIN_CHANGED", "PUSH", "en", "Card PIN changed", "The PIN of your card {{ maskedCardNumber }} was changed. If this wasn't you, contact us now."),
    ("CARD_TOKENIZED", "SMS", "en", "", "Your card {{ maskedCardNumber }} was added to {{ walletProvider }}. If this wasn't you, contact us now."),
    ("CARD_TOKENIZED", "EMAIL", "en", "Card added to {{ walletProvider }}", "Dear {{ cardholderName }},\n\nYour card {{ maskedCardNumber }} was added to {{ walletProvider }}. If this wasn't you, contact us now.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_TOKENIZED", "PUSH", "en", "Card added to {{ walletProvider }}", "Your card {{ maskedCardNumber }} was added to {{ walletProvider }}. If this wasn't you, contact us now."),
    ("CARD_TRANSACTION_APPROVED", "SMS", "en", "", "{{ currency }} {{ amount }} spent at {{ merchantName }} with card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}."),
    ("CARD_TRANSACTION_APPROVED", "EMAIL", "en", "Payment of {{ currency }} {{ amount }}", "Dear {{ cardholderName }},\n\n{{ currency }} {{ amount }} spent at {{ merchantName }} with card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_TRANSACTION_APPROVED", "PUSH", "en", "Payment of {{ currency }} {{ amount }}", "{{ currency }} {{ amount }} spent at {{ merchantName }} with card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}."),
    ("CARD_TRANSACTION_DECLINED", "SMS", "en", "", "Your payment of {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}."),
    ("CARD_TRANSACTION_DECLINED", "EMAIL", "en", "Payment declined", "Dear {{ cardholderName }},\n\nYour payment of {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_TRANSACTION_DECLINED", "PUSH", "en", "Payment declined", "Your payment of {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }} was declined{% if declineReason %}: {{ declineReason }}{% endif %}."),
    ("CARD_TRANSACTION_REFUND", "SMS", "en", "", "{{ currency }} {{ amount }} from {{ merchantName }} was refunded to card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}."),
    ("CARD_TRANSACTION_REFUND", "EMAIL", "en", "Refund received", "Dear {{ cardholderName }},\n\n{{ currency }} {{ amount }} from {{ merchantName }} was refunded to card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_TRANSACTION_REFUND", "PUSH", "en", "Refund received", "{{ currency }} {{ amount }} from {{ merchantName }} was refunded to card {{ maskedCardNumber }}. Balance: {{ currency }} {{ balance }}."),
    ("CARD_TRANSACTION_REVERSAL", "SMS", "en", "", "Your payment of {{ currency }} {{ amount }} at {{ merchantName }} was reversed. Balance: {{ currency }} {{ balance }}."),
    ("CARD_TRANSACTION_REVERSAL", "EMAIL", "en", "Payment reversed", "Dear {{ cardholderName }},\n\nYour payment of {{ currency }} {{ amount }} at {{ merchantName }} was reversed. Balance: {{ currency }} {{ balance }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_TRANSACTION_REVERSAL", "PUSH", "en", "Payment reversed", "Your payment of {{ currency }} {{ amount }} at {{ merchantName }} was reversed. Balance: {{ currency }} {{ balance }}."),
    ("CARD_3DS_CHALLENGE", "SMS", "en", "", "{{ otp }} is your code to pay {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }}. Never share it."),
    ("CARD_3DS_CHALLENGE", "EMAIL", "en", "Your one-time code", "Dear {{ cardholderName }},\n\n{{ otp }} is your code to pay {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }}. Never share it.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CARD_3DS_CHALLENGE", "PUSH", "en", "Your one-time code", "{{ otp }} is your code to pay {{ currency }} {{ amount }} at {{ merchantName }} with card {{ maskedCardNumber }}. Never share it."),
    ("WALLET_STATUS_CHANGED", "SMS", "en", "", "Your wallet is now {{ newStatus }} (it was {{ previousStatus }})."),
    ("WALLET_STATUS_CHANGED", "EMAIL", "en", "Wallet status changed", "Dear {{ cardholderName }},\n\nYour wallet is now {{ newStatus }} (it was {{ previousStatus }}).\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_STATUS_CHANGED", "PUSH", "en", "Wallet status changed", "Your wallet is now {{ newStatus }} (it was {{ previousStatus }})."),
    ("WALLET_LOCKED", "SMS", "en", "", "Your wallet has been temporarily locked. If you did not ask for this, contact us now."),
    ("WALLET_LOCKED", "EMAIL", "en", "Wallet locked", "Dear {{ cardholderName }},\n\nYour wallet has been temporarily locked. If you did not ask for this, contact us now.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_LOCKED", "PUSH", "en", "Wallet locked", "Your wallet has been temporarily locked. If you did not ask for this, contact us now."),
    ("WALLET_BLOCKED", "SMS", "en", "", "Your wallet has been blocked. Please contact support to unblock it."),
    ("WALLET_BLOCKED", "EMAIL", "en", "Wallet blocked", "Dear {{ cardholderName }},\n\nYour wallet has been blocked. Please contact support to unblock it.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_BLOCKED", "PUSH", "en", "Wallet blocked", "Your wallet has been blocked. Please contact support to unblock it."),
    ("WALLET_FRAUD_SUSPENDED", "SMS", "en", "", "Your wallet has been suspended while we investigate suspicious activity. Please contact support."),
    ("WALLET_FRAUD_SUSPENDED", "EMAIL", "en", "Wallet suspended", "Dear {{ cardholderName }},\n\nYour wallet has been suspended while we investigate suspicious activity. Please contact support.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_FRAUD_SUSPENDED", "PUSH", "en", "Wallet suspended", "Your wallet has been suspended while we investigate suspicious activity. Please contact support."),
    ("WALLET_CLOSED", "SMS", "en", "", "Your wallet has been closed permanently."),
    ("WALLET_CLOSED", "EMAIL", "en", "Wallet closed", "Dear {{ cardholderName }},\n\nYour wallet has been closed permanently.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_CLOSED", "PUSH", "en", "Wallet closed", "Your wallet has been closed permanently."),
    ("WALLET_LOADED", "SMS", "en", "", "{{ currency }} {{ amount }} was added to your wallet. Balance: {{ currency }} {{ balance }}."),
    ("WALLET_LOADED", "EMAIL", "en", "Money added", "Dear {{ cardholderName }},\n\n{{ currency }} {{ amount }} was added to your wallet. Balance: {{ currency }} {{ balance }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_LOADED", "PUSH", "en", "Money added", "{{ currency }} {{ amount }} was added to your wallet. Balance: {{ currency }} {{ balance }}."),
    ("WALLET_LOW_BALANCE", "SMS", "en", "", "Your wallet balance is low: {{ currency }} {{ balance }}."),
    ("WALLET_LOW_BALANCE", "EMAIL", "en", "Low balance", "Dear {{ cardholderName }},\n\nYour wallet balance is low: {{ currency }} {{ balance }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("WALLET_LOW_BALANCE", "PUSH", "en", "Low balance", "Your wallet balance is low: {{ currency }} {{ balance }}."),
    ("CUSTOMER_REGISTERED", "SMS", "en", "", "Welcome, {{ firstName }}! Your account is ready."),
    ("CUSTOMER_REGISTERED", "EMAIL", "en", "Welcome", "Dear {{ cardholderName }},\n\nWelcome, {{ firstName }}! Your account is ready.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CUSTOMER_REGISTERED", "PUSH", "en", "Welcome", "Welcome, {{ firstName }}! Your account is ready."),
    ("CUSTOMER_KYC_UPDATED", "SMS", "en", "", "Your KYC status is now {{ kycStatus }}."),
    ("CUSTOMER_KYC_UPDATED", "EMAIL", "en", "KYC status updated", "Dear {{ cardholderName }},\n\nYour KYC status is now {{ kycStatus }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CUSTOMER_KYC_UPDATED", "PUSH", "en", "KYC status updated", "Your KYC status is now {{ kycStatus }}."),
    ("CUSTOMER_CONTACT_CHANGED", "SMS", "en", "", "The {{ field }} on your account was changed. If this wasn't you, contact us now."),
    ("CUSTOMER_CONTACT_CHANGED", "EMAIL", "en", "Contact details changed", "Dear {{ cardholderName }},\n\nThe {{ field }} on your account was changed. If this wasn't you, contact us now.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CUSTOMER_CONTACT_CHANGED", "PUSH", "en", "Contact details changed", "The {{ field }} on your account was changed. If this wasn't you, contact us now."),
    ("CUSTOMER_OTP", "SMS", "en", "", "{{ otp }} is your one-time password{% if purpose %} for {{ purpose }}{% endif %}. Never share it."),
    ("CUSTOMER_OTP", "EMAIL", "en", "Your one-time password", "Dear {{ cardholderName }},\n\n{{ otp }} is your one-time password{% if purpose %} for {{ purpose }}{% endif %}. Never share it.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("CUSTOMER_OTP", "PUSH", "en", "Your one-time password", "{{ otp }} is your one-time password{% if purpose %} for {{ purpose }}{% endif %}. Never share it."),
    ("FEE_CHARGED", "SMS", "en", "", "A {{ feeType|lower }} fee of {{ currency }} {{ amount }} was charged to card {{ maskedCardNumber }}."),
    ("FEE_CHARGED", "EMAIL", "en", "Fee charged", "Dear {{ cardholderName }},\n\nA {{ feeType|lower }} fee of {{ currency }} {{ amount }} was charged to card {{ maskedCardNumber }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("FEE_CHARGED", "PUSH", "en", "Fee charged", "A {{ feeType|lower }} fee of {{ currency }} {{ amount }} was charged to card {{ maskedCardNumber }}."),
    ("ANNUAL_FEE_DUE", "SMS", "en", "", "The annual fee of {{ currency }} {{ amount }} for card {{ maskedCardNumber }} will be charged on {{ dueDate }}."),
    ("ANNUAL_FEE_DUE", "EMAIL", "en", "Annual fee due", "Dear {{ cardholderName }},\n\nThe annual fee of {{ currency }} {{ amount }} for card {{ maskedCardNumber }} will be charged on {{ dueDate }}.\n\nThis is an automated message from {{ partnerName }}; please do not reply."),
    ("ANNUAL_FEE_DUE", "PUSH", "en", "Annual fee due", "The annual fee of {{ currency }} {{ amount }} for card {{ maskedCardNumber }} will be charged on {{ dueDate }}."),
    ("TRANSACTION_NOTIFICATION", "SMS", "hi", "", "आपके कार्ड {{ maskedCardNumber }} पर {{ merchantName }} में {{ currency }} {{ amount }} का लेनदेन हुआ।"),
    ("TRANSACTION_NOTIFICATION", "EMAIL", "hi", "कार्ड लेनदेन", "प्रिय {{ cardholderName }},\n\nआपके कार्ड {{ maskedCardNumber }} पर {{ merchantName }} में {{ currency }} {{ amount }} का लेनदेन हुआ।\n\n{{ partnerName }} की ओर से स्वचालित संदेश; कृपया उत्तर न दें।"),
    ("TRANSACTION_NOTIFICATION", "PUSH", "hi", "कार्ड लेनदेन", "आपके कार्ड {{ maskedCardNumber }} पर {{ merchantName }} में {{ currency }} {{ amount }} का लेनदेन हुआ।"),
    ("CARD_TRANSACTION_APPROVED", "SMS", "hi", "", "आपके कार्ड {{ maskedCardNumber }} से {{ merchantName }} पर {{ currency }} {{ amount }} खर्च किए गए। शेष राशि: {{ currency }} {{ balance }}।"),
    ("CARD_TRANSACTION_APPROVED", "EMAIL", "hi", "{{ currency }} {{ amount }} का भुगतान", "प्रिय {{ cardholderName }},\n\nआपके कार्ड {{ maskedCardNumber }} से {{ merchantName }} पर {{ currency }} {{ amount }} खर्च किए गए। शेष राशि: {{ currency }} {{ balance }}।\n\n{{ partnerName }} की ओर से स्वचालित संदेश; कृपया उत्तर न दें।"),
    ("CARD_TRANSACTION_APPROVED", "PUSH", "hi", "{{ currency }} {{ amount }} का भुगतान", "आपके कार्ड {{ maskedCardNumber }} से {{ merchantName }} पर {{ currency }} {{ amount }} खर्च किए गए। शेष राशि: {{ currency }} {{ balance }}।"),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "SMS", "hi", "", "आपका कार्ड {{ maskedCardNumber }} {{ expiryDate }} को समाप्त हो रहा है ({{ daysLeft }} दिन शेष)।"),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "EMAIL", "hi", "कार्ड जल्द समाप्त होगा", "प्रिय {{ cardholderName }},\n\nआपका कार्ड {{ maskedCardNumber }} {{ expiryDate }} को समाप्त हो रहा है ({{ daysLeft }} दिन शेष)।\n\n{{ partnerName }} की ओर से स्वचालित संदेश; कृपया उत्तर न दें।"),
    ("KIT_EXPIRY_ADVANCE_NOTIFICATION", "PUSH", "hi", "कार्ड जल्द समाप्त होगा", "आपका कार्ड {{ maskedCardNumber }} {{ expiryDate }} को समाप्त हो रहा है ({{ daysLeft }} दिन शेष)।"),
    ("CARD_BLOCKED", "SMS", "hi", "", "आपका कार्ड {{ maskedCardNumber }} ब्लॉक कर दिया गया है। यदि यह आपने नहीं किया, तो तुरंत हमसे संपर्क करें।"),
    ("CARD_BLOCKED", "EMAIL", "hi", "कार्ड ब्लॉक किया गया", "प्रिय {{ cardholderName }},\n\nआपका कार्ड {{ maskedCardNumber }} ब्लॉक कर दिया गया है। यदि यह आपने नहीं किया, तो तुरंत हमसे संपर्क करें।\n\n{{ partnerName }} की ओर से स्वचालित संदेश; कृपया उत्तर न दें।"),
    ("CARD_BLOCKED", "PUSH", "hi", "कार्ड ब्लॉक किया गया", "आपका कार्ड {{ maskedCardNumber }} ब्लॉक कर दिया गया है। यदि यह आपने नहीं किया, तो तुरंत हमसे संपर्क करें।"),
    ("CUSTOMER_OTP", "SMS", "hi", "", "{{ otp }} आपका वन-टाइम पासवर्ड है। इसे किसी के साथ साझा न करें।"),
    ("CUSTOMER_OTP", "EMAIL", "hi", "आपका वन-टाइम पासवर्ड", "प्रिय {{ cardholderName }},\n\n{{ otp }} आपका वन-टाइम पासवर्ड है। इसे किसी के साथ साझा न करें।\n\n{{ partnerName }} की ओर से स्वचालित संदेश; कृपया उत्तर न दें।"),
    ("CUSTOMER_OTP", "PUSH", "hi", "आपका वन-टाइम पासवर्ड", "{{ otp }} आपका वन-टाइम पासवर्ड है। इसे किसी के साथ साझा न करें।"),
]


def add_samples(apps, schema_editor):
    NotificationTemplate = apps.get_model("templates", "NotificationTemplate")
    existing = set(
        NotificationTemplate.objects.filter(product__isnull=True).values_list("event_name", "channel", "locale")
    )
    NotificationTemplate.objects.bulk_create(
        NotificationTemplate(event_name=e, channel=c, locale=loc, subject=s, body=b)
        for e, c, loc, s, b in SAMPLES
        if (e, c, loc) not in existing
    )


def remove_samples(apps, schema_editor):
    NotificationTemplate = apps.get_model("templates", "NotificationTemplate")
    for e, c, loc, s, b in SAMPLES:
        NotificationTemplate.objects.filter(
            product__isnull=True, event_name=e, channel=c, locale=loc, subject=s, body=b
        ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("templates", "0002_quiet_hours_and_settings_proxy"),
    ]

    operations = [migrations.RunPython(add_samples, remove_samples)]
