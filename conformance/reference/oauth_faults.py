"""Which check catches each OAuth fault of the reference client (conformance.reference.client
--fault NAME): the proof that every authorization check of the client leg can fail, used by
tests/test_client_auth.py and by the coverage command (a requirement counts as checked
only when a fault trips one of its checks)."""

FAULTS = {  # fault -> (check, its scenario parameter or None, outcome, words in the explanation)
    "oauth-openid-first": (
        "test_auth_server_metadata_discovery_order",
        "auth/metadata-default",
        "failed",
        "the client fetched ['/.well-known/openid-configuration'",
    ),
    "oauth-ignore-scopes-supported": ("test_auth_scope_fallbacks", None, "warned", "the client asked for None"),
    "oauth-no-cimd": ("test_auth_prefers_client_metadata_document", None, "warned", "after registering"),
    "oauth-no-refresh-grant": (
        "test_auth_registration_asks_for_refresh_tokens",
        None,
        "warned",
        "do not list refresh_token",
    ),
    "oauth-no-pkce": ("test_auth_pkce_s256", None, "failed", "no code_challenge"),
    "oauth-plain-pkce": ("test_auth_pkce_s256", None, "failed", "code_challenge_method 'plain'"),
    "oauth-no-resource": ("test_auth_resource_parameter", None, "failed", "no resource parameter"),
    "oauth-resource-trailing-slash": ("test_auth_resource_parameter", None, "warned", "trailing slash"),
    "oauth-token-in-query": ("test_auth_bearer_on_every_request", None, "failed", "in the query string"),
    "oauth-token-post-only": ("test_auth_bearer_on_every_request", None, "failed", "without a bearer token"),
    "oauth-ignore-state": ("test_auth_state_checked", None, "warned", "still redeemed the code"),
    "oauth-ignore-iss": ("test_auth_iss_checked", None, "failed", "auth/iss-wrong-issuer"),
    "oauth-no-issuer-check": ("test_auth_metadata_issuer_checked", None, "failed", "still sent an authorization"),
    "oauth-ignore-pkce-support": (
        "test_auth_refuses_without_pkce_support",
        None,
        "failed",
        "still sent an authorization request",
    ),
    "oauth-root-prm-first": (
        "test_auth_protected_resource_metadata_found",
        "auth/metadata-default",
        "failed",
        "first fetched",
    ),
    "oauth-ignore-challenge-scope": ("test_auth_scope_from_challenge", None, "warned", "the challenge named scope"),
    "oauth-no-scope-union": ("test_auth_step_up", None, "warned", "dropping mcp:basic"),
    "oauth-no-retry-limit": ("test_auth_retry_limit", None, "warned", "the client authorized"),
    "oauth-http-redirect-uri": ("test_auth_redirect_uri_loopback_or_https", None, "failed", "http://example.com"),
    "oauth-no-application-type": ("test_auth_registration_application_type", None, "failed", "application_type None"),
    "oauth-no-refresh": ("test_auth_flow_completes", "auth/token-expiry", "failed", "never called a tool"),
    "oauth-reuse-refresh-token": ("test_auth_flow_completes", "auth/token-expiry", "failed", "already used"),
    "oauth-wrong-auth-method": (
        "test_auth_flow_completes",
        "auth/token-endpoint-auth-basic",
        "failed",
        "client authentication",
    ),
    "oauth-ignore-resource-mismatch": (
        "test_auth_resource_mismatch_refused",
        None,
        "failed",
        "still sent an authorization request",
    ),
    "oauth-ignore-metadata-endpoints": (
        "test_auth_2025_03_26_server",
        "auth/2025-03-26-oauth-metadata-backcompat",
        "failed",
        "went to the default ['/register']",
    ),
    "oauth-reuse-client-across-as": (
        "test_auth_new_authorization_server_new_registration",
        None,
        "failed",
        "presented the first authorization server's client_id",
    ),
    "oauth-offline-access-always": (
        "test_auth_offline_access_only_where_listed",
        None,
        "warned",
        "the client asked for it",
    ),
    "oauth-ignore-registration-error": (
        "test_auth_registration_refusal_handled",
        None,
        "failed",
        "which the authorization server never issued",
    ),
    "oauth-incomplete-client-metadata": ("test_auth_client_metadata_document", None, "failed", "no redirect_uris"),
    "oauth-auth-header-on-icons": (
        "test_auth_icons_fetched_without_credentials",
        None,
        "failed",
        "with an Authorization header",
    ),
}
