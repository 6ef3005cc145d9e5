"""The steps of the admin console tour that ../console_flow.py runs, by concern.

  browser         launches Chromium, opens the tour's page, and checks each page it visits
                  (axe-core, screenshots, console errors and CSP violations)
  keys            keyboard helpers: Tab to a control, press a key on it, find links and headings
  receiver        a webhook receiver on loopback
  operator_steps  the operator's view: sign-in, tenants, a tenant's tabs, key rotation
  tenant_data     one tenant's data: users and sessions, webhooks, the other data pages
  restore         restoring a tenant from a backup file, watching its progress bar
  tour            the tour in order, and what a failed one answers
"""
