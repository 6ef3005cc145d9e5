"""Verifies webhook deliveries with the official Standard Webhooks library, as a receiver would.

Reads one JSON object per line on stdin: {"secret": "whsec_…", "headers": {…}, "body": "…"}
and answers one line each on stdout: `ok <event type>` or `error <reason>`.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            payload = Webhook(request["secret"]).verify(request["body"], request["headers"])
            print(f"ok {payload['type']}", flush=True)
        except Exception as e:  # the test reads the reason
            print(f"error {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    main()
