"""The words of the cardholder's pages (preference centre, unsubscribe, link errors), per language, chosen like the
notification templates: the cardholder's locale, then its language, then the product's default, then English
(`templates.selectors.locale_candidates`). A language here only needs the texts it translates: a missing one falls
back to English."""

from __future__ import annotations

from templates.selectors import locale_candidates

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your notification preferences",
        "greeting": "Hello {name}, choose how {partner} keeps you informed.",
        "channels": "Channels",
        "channels_help": "Untick a channel to stop non-essential messages on it.",
        "categories": "Topics",
        "categories_help": "Untick the topics you do not want on a channel.",
        "quiet_hours": "Quiet hours",
        "quiet_product": "Use the default",
        "quiet_off": "No quiet hours",
        "quiet_custom": "Hold messages between",
        "and": "and",
        "timezone": "Time zone",
        "critical_note": "Security and account notices (fraud alerts, one-time codes, card expiry, fees) are always "
                         "sent.",
        "save": "Save preferences",
        "saved": "Your preferences were saved.",
        "invalid_input": "Some choices could not be saved:",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Stop {category} emails from {partner}?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed": "You will no longer receive {category} emails from {partner}. Other messages are unchanged.",
        "link_expired_title": "This link has expired",
        "link_expired": "Ask for a new link in the app.",
        "link_invalid_title": "This link is not valid",
        "link_invalid": "The link may have been cut or changed. Open it again from the app or the email.",
        "not_found_title": "Nothing to show",
        "not_found": "We could not find these preferences any more.",
        "SMS": "SMS", "EMAIL": "Email", "PUSH": "Push notifications", "IN_APP": "In-app inbox",
        "Card lifecycle": "Card updates", "Transactions": "Transactions", "Wallet": "Wallet",
        "Customer": "Account", "Fees": "Fees",
    },
    "hi": {
        "title": "आपकी सूचना प्राथमिकताएँ",
        "greeting": "नमस्ते {name}, चुनें कि {partner} आपको कैसे सूचित करे।",
        "channels": "माध्यम",
        "channels_help": "किसी माध्यम पर गैर-ज़रूरी संदेश रोकने के लिए उसका निशान हटाएँ।",
        "categories": "विषय",
        "categories_help": "जो विषय आप किसी माध्यम पर नहीं चाहते, उनका निशान हटाएँ।",
        "quiet_hours": "शांत समय",
        "quiet_product": "डिफ़ॉल्ट उपयोग करें",
        "quiet_off": "कोई शांत समय नहीं",
        "quiet_custom": "इस समय संदेश रोकें:",
        "and": "से",
        "timezone": "समय क्षेत्र",
        "critical_note": "सुरक्षा और खाते की सूचनाएँ (धोखाधड़ी चेतावनी, वन-टाइम कोड, कार्ड समाप्ति, शुल्क) हमेशा भेजी "
                         "जाती हैं।",
        "save": "प्राथमिकताएँ सहेजें",
        "saved": "आपकी प्राथमिकताएँ सहेज ली गईं।",
        "invalid_input": "कुछ विकल्प सहेजे नहीं जा सके:",
        "unsubscribe_title": "सदस्यता समाप्त करें",
        "unsubscribe_question": "{partner} से {category} ईमेल बंद करें?",
        "unsubscribe_button": "सदस्यता समाप्त करें",
        "unsubscribed": "अब आपको {partner} से {category} ईमेल नहीं मिलेंगे। अन्य संदेश पहले जैसे रहेंगे।",
        "link_expired_title": "इस लिंक की अवधि समाप्त हो गई है",
        "link_expired": "ऐप में नया लिंक माँगें।",
        "link_invalid_title": "यह लिंक मान्य नहीं है",
        "link_invalid": "लिंक कट या बदल गया हो सकता है। इसे ऐप या ईमेल से फिर खोलें।",
        "not_found_title": "दिखाने के लिए कुछ नहीं",
        "not_found": "ये प्राथमिकताएँ अब नहीं मिलीं।",
        "SMS": "एसएमएस", "EMAIL": "ईमेल", "PUSH": "पुश सूचनाएँ", "IN_APP": "ऐप इनबॉक्स",
        "Card lifecycle": "कार्ड अपडेट", "Transactions": "लेनदेन", "Wallet": "वॉलेट", "Customer": "खाता",
        "Fees": "शुल्क",
    },
}


class PageTexts(dict):
    """The texts of one language, English for any it lacks."""

    language = "en"

    def __missing__(self, key: str) -> str:
        return TEXTS["en"].get(key, key)


def page_texts(*, locale: str = "en", product_default_locale: str | None = None) -> PageTexts:
    for candidate in locale_candidates(locale=locale, product_default_locale=product_default_locale):
        if candidate in TEXTS:
            texts = PageTexts(TEXTS[candidate])
            texts.language = candidate
            return texts
    return PageTexts(TEXTS["en"])
