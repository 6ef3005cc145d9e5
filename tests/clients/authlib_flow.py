"""Drives hellojohn's OpenID provider with authlib, a client we didn't write.

Reads one line per flow: a JSON object {base, tenant, client_id, client_secret, email,
password, redirect_uri}; answers one JSON line with what the flow saw (or {"error": …}).
Discovery -> authorize (posting the hosted sign-in form like a browser without JavaScript)
-> token (PKCE S256) -> ID token checked against the JWKS -> userinfo -> refresh ->
introspect -> revoke -> introspect again.
"""
import html
import json
import re
import sys
import traceback

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc6749.errors import MismatchingStateException


def form_fields(page, step):
    for form in page.split("<form")[1:]:
        form = form[: form.index("</form>")]
        if f'name="step" value="{step}"' in form:
            found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
            return {html.unescape(k): html.unescape(v) for k, v in found}
    raise AssertionError(f"no {step} form in the page")


def flow(spec):
    issuer = f"{spec['base']}/t/{spec['tenant']}"
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, meta
    secret = spec.get("client_secret")
    method = "client_secret_basic" if secret else "none"
    session = OAuth2Session(
        spec["client_id"],
        secret,
        scope="openid email profile offline_access",
        redirect_uri=spec["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
    )
    verifier = generate_token(48)
    nonce = generate_token(16)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.status_code
    fields = form_fields(page.text, "sign_in")
    fields.update(email=spec["email"], password=spec["password"])
    back = browser.post(meta["authorization_endpoint"], data=fields, allow_redirects=False, timeout=10)
    location = back.headers["location"]

    # A response whose state isn't ours is refused by the client.
    forged = location.replace(f"state={state}", "state=forged")
    try:
        session.fetch_token(meta["token_endpoint"], authorization_response=forged, state=state, code_verifier=verifier)
        state_checked = False
    except MismatchingStateException:
        state_checked = True

    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier
    )
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": spec["client_id"]},
            "nonce": {"essential": True, "value": nonce},
            "sub": {"essential": True},
        },
    )
    claims.validate()
    userinfo = session.get(meta["userinfo_endpoint"], timeout=10).json()
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    introspect = lambda t: session.post(  # noqa: E731
        meta["introspection_endpoint"], data={"token": t, **({} if secret else {"client_id": spec["client_id"]})},
        auth=(spec["client_id"], secret) if secret else None, timeout=10,
    ).json()
    active = introspect(refreshed["refresh_token"])
    revoked = session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"])
    after = introspect(refreshed["refresh_token"])
    return {
        "state_checked": state_checked,
        "id_token_sub": claims["sub"],
        "id_token_email": claims.get("email"),
        "userinfo": userinfo,
        "refresh_rotated": refreshed["refresh_token"] != token["refresh_token"],
        "introspected_active": active.get("active"),
        "introspected_client": active.get("client_id"),
        "revoke_status": revoked.status_code,
        "active_after_revoke": after.get("active"),
    }


for line in sys.stdin:
    try:
        print(json.dumps(flow(json.loads(line))), flush=True)
    except Exception as e:  # the test shows what went wrong
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}), flush=True)
