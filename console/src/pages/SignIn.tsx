// Two ways in: an operator with a control-plane admin's email and password, or a
// tenant admin with the tenant's secret key.
import { useEffect, useState } from "preact/hooks";
import { cp, must, tenantApi } from "../api/client";
import { setSession, takeSignedOutNotice } from "../session";
import { ErrorBanner, Field, Notice } from "../components/ui";
import { useAction } from "../components/useLoad";
import { expiryByThisClock } from "./sessionGuards";

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [secretKey, setSecretKey] = useState("");
  const [runOperator, operatorBusy, operatorError] = useAction();
  const [runTenant, tenantBusy, tenantError] = useAction();
  // Why the console signed out (an expired session), set after the first render so the
  // live region is on the page before its text and screen readers announce it.
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => setNotice(takeSignedOutNotice()), []);
  return (
    <main id="main" class="sign-in">
      <h1>hellojohn console</h1>
      <Notice tone="warn">{notice}</Notice>
      <section aria-labelledby="operator-heading" class="card">
        <h2 id="operator-heading">Operator sign-in</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void runOperator(async () => {
              const call = cp.POST("/cp/v1/admin/sign-in", { body: { email, password } });
              const signedIn = await must(call);
              const expiresAt = expiryByThisClock(signedIn.expires_at, (await call).response.headers.get("Date"));
              setPassword("");
              setSession({ kind: "operator", email, token: signedIn.token, expiresAt });
              window.location.hash = "#/tenants";
            });
          }}
        >
          <Field label="Email" type="email" autoComplete="username" required value={email} onValue={setEmail} />
          <Field
            label="Password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onValue={setPassword}
          />
          <ErrorBanner error={operatorError} />
          <button type="submit" disabled={operatorBusy}>
            Sign in
          </button>
        </form>
      </section>
      <section aria-labelledby="tenant-heading" class="card">
        <h2 id="tenant-heading">Tenant admin sign-in</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void runTenant(async () => {
              // Any server-side call proves the key; listing one user is the cheapest.
              await must(tenantApi(secretKey).GET("/v1/users", { params: { query: { limit: 1 } } }));
              setSession({ kind: "tenant", secretKey });
              setSecretKey("");
              window.location.hash = "#/users";
            });
          }}
        >
          <Field
            label="Secret key"
            type="password"
            autoComplete="off"
            required
            placeholder="sk_live_…"
            value={secretKey}
            onValue={setSecretKey}
            hint="The key stays in this tab's memory; reloading the page signs you out."
          />
          <ErrorBanner error={tenantError} />
          <button type="submit" disabled={tenantBusy}>
            Open tenant
          </button>
        </form>
      </section>
    </main>
  );
}
