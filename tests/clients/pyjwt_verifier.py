"""A backend verifying hellojohn access tokens with PyJWT's PyJWKClient, as an app would.

Reads one token per line on stdin and answers one line each on stdout:
`ok <fetches>` or `error <fetches> <reason>`, where <fetches> counts the JWKS downloads
so far. The client caches the JWKS for 300 s, like a verifier behind a caching proxy.
"""

import sys

import jwt


class CountingClient(jwt.PyJWKClient):
    fetches = 0

    def fetch_data(self):
        CountingClient.fetches += 1
        return super().fetch_data()


def main():
    jwks_url, issuer, audience = sys.argv[1:4]
    client = CountingClient(jwks_url, cache_jwk_set=True, lifespan=300)
    for line in sys.stdin:
        token = line.strip()
        if not token:
            continue
        try:
            key = client.get_signing_key_from_jwt(token)
            jwt.decode(token, key, algorithms=["EdDSA", "ES256", "RS256"], audience=audience, issuer=issuer)
            print(f"ok {CountingClient.fetches}", flush=True)
        except Exception as e:  # the test reads the reason
            print(f"error {CountingClient.fetches} {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    main()
