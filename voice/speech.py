"""What a call says, in each language telverify speaks, and the voice that says it.

Sentences are short and plain: the listener may be on a poor landline line, hearing a
synthetic voice once. Keys are named the way that language's phone menus name them.
"""
from __future__ import annotations

from dataclasses import dataclass

PHRASES = {
    "en": {
        "greeting": "Hello. This is the {name} verification service.",
        "gate": "This is the {name} verification service. To hear your verification code, press any key.",
        "code_intro": "Your {name} verification code is:",
        "code_again": "Again, your code is:",
        "repeat_hint": "Press 1 to hear it again.",
        "goodbye": "Goodbye.",
        "approve_first": "Thank you for using the {name} sign-in verification system. Please press the pound "
                         "key to finish your verification. If you did not try to sign in, press zero.",
        "approve_again": "Please press the pound key to finish your verification. If you did not try to sign "
                         "in, press zero.",
        "invalid_key": "Sorry, that key is not valid.",
        "approved": "Thank you. Your sign-in is approved. Goodbye.",
        "fraud_confirm": "You pressed zero. If you did not try to sign in, press the pound key to report this "
                         "as fraud, and we will not call this number again for {name}. To go back, press any "
                         "other key.",
        "fraud_reported": "Thank you. This sign-in attempt has been reported as fraud, and it was not "
                          "approved. Goodbye.",
        "no_key": "We did not receive a key press, so your sign-in was not approved. Goodbye.",
        "inactive": "Sorry, this verification is no longer active. Please start again from the sign-in page. "
                    "Goodbye.",
    },
    "es": {
        "greeting": "Hola. Le llama el servicio de verificación de {name}.",
        "gate": "Le llama el servicio de verificación de {name}. Para escuchar su código de verificación, "
                "pulse cualquier tecla.",
        "code_intro": "Su código de verificación de {name} es:",
        "code_again": "Repetimos, su código es:",
        "repeat_hint": "Pulse 1 para volver a escucharlo.",
        "goodbye": "Adiós.",
        "approve_first": "Gracias por usar el sistema de verificación de inicio de sesión de {name}. Pulse la "
                         "tecla almohadilla para completar la verificación. Si no ha intentado iniciar sesión, "
                         "pulse cero.",
        "approve_again": "Pulse la tecla almohadilla para completar la verificación. Si no ha intentado "
                         "iniciar sesión, pulse cero.",
        "invalid_key": "Lo sentimos, esa tecla no es válida.",
        "approved": "Gracias. Su inicio de sesión ha sido aprobado. Adiós.",
        "fraud_confirm": "Ha pulsado cero. Si no ha intentado iniciar sesión, pulse la tecla almohadilla para "
                         "denunciarlo como fraude, y no volveremos a llamar a este número para {name}. Para "
                         "volver, pulse cualquier otra tecla.",
        "fraud_reported": "Gracias. Este intento de inicio de sesión se ha denunciado como fraude y no ha sido "
                          "aprobado. Adiós.",
        "no_key": "No hemos recibido ninguna tecla, así que su inicio de sesión no ha sido aprobado. Adiós.",
        "inactive": "Lo sentimos, esta verificación ya no está activa. Vuelva a empezar desde la página de "
                    "inicio de sesión. Adiós.",
    },
    "fr": {
        "greeting": "Bonjour. Ici le service de vérification de {name}.",
        "gate": "Ici le service de vérification de {name}. Pour entendre votre code de vérification, appuyez "
                "sur n'importe quelle touche.",
        "code_intro": "Votre code de vérification {name} est :",
        "code_again": "Je répète, votre code est :",
        "repeat_hint": "Appuyez sur 1 pour le réécouter.",
        "goodbye": "Au revoir.",
        "approve_first": "Merci d'utiliser le système de vérification de connexion de {name}. Appuyez sur la "
                         "touche dièse pour terminer votre vérification. Si vous n'avez pas essayé de vous "
                         "connecter, appuyez sur zéro.",
        "approve_again": "Appuyez sur la touche dièse pour terminer votre vérification. Si vous n'avez pas "
                         "essayé de vous connecter, appuyez sur zéro.",
        "invalid_key": "Désolé, cette touche n'est pas valide.",
        "approved": "Merci. Votre connexion est approuvée. Au revoir.",
        "fraud_confirm": "Vous avez appuyé sur zéro. Si vous n'avez pas essayé de vous connecter, appuyez sur "
                         "la touche dièse pour signaler une fraude, et nous n'appellerons plus ce numéro pour "
                         "{name}. Pour revenir en arrière, appuyez sur une autre touche.",
        "fraud_reported": "Merci. Cette tentative de connexion a été signalée comme frauduleuse et n'a pas été "
                          "approuvée. Au revoir.",
        "no_key": "Nous n'avons reçu aucune touche, votre connexion n'a donc pas été approuvée. Au revoir.",
        "inactive": "Désolé, cette vérification n'est plus active. Veuillez recommencer depuis la page de "
                    "connexion. Au revoir.",
    },
    "de": {
        "greeting": "Guten Tag. Hier ist der Bestätigungsdienst von {name}.",
        "gate": "Hier ist der Bestätigungsdienst von {name}. Um Ihren Bestätigungscode zu hören, drücken Sie "
                "eine beliebige Taste.",
        "code_intro": "Ihr Bestätigungscode für {name} lautet:",
        "code_again": "Noch einmal, Ihr Code lautet:",
        "repeat_hint": "Drücken Sie die 1, um ihn noch einmal zu hören.",
        "goodbye": "Auf Wiederhören.",
        "approve_first": "Vielen Dank, dass Sie das Anmeldebestätigungssystem von {name} verwenden. Drücken Sie "
                         "die Rautetaste, um Ihre Bestätigung abzuschließen. Wenn Sie nicht versucht haben, sich "
                         "anzumelden, drücken Sie die Null.",
        "approve_again": "Drücken Sie die Rautetaste, um Ihre Bestätigung abzuschließen. Wenn Sie nicht versucht "
                         "haben, sich anzumelden, drücken Sie die Null.",
        "invalid_key": "Diese Taste ist leider nicht gültig.",
        "approved": "Vielen Dank. Ihre Anmeldung ist bestätigt. Auf Wiederhören.",
        "fraud_confirm": "Sie haben die Null gedrückt. Wenn Sie nicht versucht haben, sich anzumelden, drücken "
                         "Sie die Rautetaste, um dies als Betrug zu melden. Wir rufen diese Nummer dann für "
                         "{name} nicht mehr an. Um zurückzugehen, drücken Sie eine andere Taste.",
        "fraud_reported": "Vielen Dank. Dieser Anmeldeversuch wurde als Betrug gemeldet und nicht bestätigt. "
                          "Auf Wiederhören.",
        "no_key": "Wir haben keinen Tastendruck erhalten, daher wurde Ihre Anmeldung nicht bestätigt. "
                  "Auf Wiederhören.",
        "inactive": "Diese Bestätigung ist leider nicht mehr aktiv. Bitte beginnen Sie erneut auf der "
                    "Anmeldeseite. Auf Wiederhören.",
    },
    "pt": {
        "greeting": "Olá. Aqui é o serviço de verificação de {name}.",
        "gate": "Aqui é o serviço de verificação de {name}. Para ouvir seu código de verificação, pressione "
                "qualquer tecla.",
        "code_intro": "Seu código de verificação de {name} é:",
        "code_again": "Repetindo, seu código é:",
        "repeat_hint": "Pressione 1 para ouvi-lo novamente.",
        "goodbye": "Até logo.",
        "approve_first": "Obrigado por usar o sistema de verificação de acesso de {name}. Pressione a tecla "
                         "jogo da velha para concluir sua verificação. Se você não tentou entrar, pressione zero.",
        "approve_again": "Pressione a tecla jogo da velha para concluir sua verificação. Se você não tentou "
                         "entrar, pressione zero.",
        "invalid_key": "Desculpe, essa tecla não é válida.",
        "approved": "Obrigado. Seu acesso foi aprovado. Até logo.",
        "fraud_confirm": "Você pressionou zero. Se você não tentou entrar, pressione a tecla jogo da velha para "
                         "denunciar esta tentativa como fraude, e não ligaremos mais para este número para "
                         "{name}. Para voltar, pressione qualquer outra tecla.",
        "fraud_reported": "Obrigado. Esta tentativa de acesso foi denunciada como fraude e não foi aprovada. "
                          "Até logo.",
        "no_key": "Não recebemos nenhuma tecla, por isso seu acesso não foi aprovado. Até logo.",
        "inactive": "Desculpe, esta verificação não está mais ativa. Comece novamente pela página de acesso. "
                    "Até logo.",
    },
}

# Twilio's <Say language> for each language, and a neural voice that speaks it natively.
LANGUAGE_TAGS = {"en": "en-US", "es": "es-ES", "fr": "fr-FR", "de": "de-DE", "pt": "pt-BR"}
DEFAULT_VOICES = {"en": "Polly.Joanna", "es": "Polly.Lucia", "fr": "Polly.Lea", "de": "Polly.Vicki",
                  "pt": "Polly.Camila"}


@dataclass(frozen=True)
class Speaker:
    """One language's sentences and the <Say> attributes that speak them."""
    locale: str
    voice: str
    language: str

    @classmethod
    def for_locale(cls, locale: str, voices: dict[str, str]) -> "Speaker":
        locale = locale if locale in PHRASES else "en"
        return cls(locale, voices.get(locale) or DEFAULT_VOICES[locale], LANGUAGE_TAGS[locale])

    def text(self, phrase: str, name: str = "") -> str:
        return PHRASES[self.locale][phrase].format(name=name)


def spoken_digits(code: str) -> str:
    """"4. 8. 1. 5." : each digit on its own, with the pause a full stop gives it."""
    return " ".join(f"{digit}." for digit in code)
