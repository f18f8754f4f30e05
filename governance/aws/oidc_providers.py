"""Reading an account's IAM OIDC identity providers: whom the account already trusts.

A CI key has a way out when its CI system's tokens can be exchanged for a role
(DESIGN.md "Fewer keys"); the account's providers say whether that trust exists yet.
``GetAccountAuthorizationDetails`` does not include them, so this is one
``iam:ListOpenIDConnectProviders`` and one ``iam:GetOpenIDConnectProvider`` per provider,
through the account's reader role. URLs and client ids are whatever an IAM administrator
typed: clipped here, placed in sentences and escaped by the pages.
"""

from dataclasses import dataclass

from governance.untrusted import clip

from .errors import translate
from .session import AccountSession

URL_CHARS = 255  # IAM's own limit on a provider URL
CLIENT_ID_CHARS = 255
MAX_CLIENT_IDS = 100


@dataclass(frozen=True)
class OidcProvider:
    """One provider: ``url`` is the issuer without scheme, as IAM returns it."""

    arn: str
    url: str
    client_ids: tuple[str, ...]


def oidc_providers(session: AccountSession) -> tuple[OidcProvider, ...]:
    """Every IAM OIDC provider of the session's account, sorted by issuer URL."""
    try:
        iam = session.client("iam")
        providers = []
        for listed in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
            arn = str(listed.get("Arn", ""))
            described = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
            url = str(described.get("Url", "")).removeprefix("https://")
            providers.append(OidcProvider(
                arn=clip(arn, 2048), url=clip(url, URL_CHARS),
                client_ids=tuple(clip(str(c), CLIENT_ID_CHARS)
                                 for c in described.get("ClientIDList", [])[:MAX_CLIENT_IDS])))
    except Exception as exc:
        raise translate(exc, "iam") from None
    return tuple(sorted(providers, key=lambda p: p.url))
