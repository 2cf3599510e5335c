"""The text message, per language. Keep it short: one SMS segment where the name allows."""
from __future__ import annotations

CODE_MESSAGE = {
    "en": "Your {name} verification code is: {code}",
    "es": "Tu código de verificación de {name} es: {code}",
    "fr": "Votre code de vérification {name} est : {code}",
    "de": "Ihr {name} Bestätigungscode lautet: {code}",
    "pt": "O seu código de verificação {name} é: {code}",
}

DO_NOT_SHARE = {
    "en": "Don't share this code with anyone; our employees will never ask for the code.",
    "es": "No compartas este código con nadie; nuestros empleados nunca te lo pedirán.",
    "fr": "Ne partagez ce code avec personne ; nos employés ne vous le demanderont jamais.",
    "de": "Geben Sie diesen Code an niemanden weiter; unsere Mitarbeiter werden nie danach fragen.",
    "pt": "Não partilhe este código com ninguém; os nossos funcionários nunca o vão pedir.",
}


def code_message(locale: str, name: str, code: str, do_not_share: bool) -> str:
    language = locale if locale in CODE_MESSAGE else "en"
    text = CODE_MESSAGE[language].format(name=name, code=code)
    return f"{text}. {DO_NOT_SHARE[language]}" if do_not_share else text
