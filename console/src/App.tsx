// The console's shell: who is signed in decides the navigation; the hash route picks
// the page. Operators see the control plane and can open any tenant's data; a tenant
// admin (secret key) sees that tenant's data only.
import { useEffect, useState } from "preact/hooks";
import { session, subscribe, type Session } from "./session";
import { useRoute } from "./router";
import { SignIn } from "./pages/SignIn";
import { Layout } from "./components/Layout";
import { operatorPage, OPERATOR_NAV } from "./pages/operator/routes";
import { tenantPage, TENANT_NAV } from "./pages/tenant/routes";
import { tenantApi } from "./api/client";
import { signOut } from "./pages/signOut";
import { useFocusRescue } from "./components/useFocusRescue";

function useSession(): Session | null {
  const [current, setCurrent] = useState(session());
  useEffect(() => subscribe(() => setCurrent(session())), []);
  return current;
}

export function App() {
  const current = useSession();
  const route = useRoute();
  useFocusRescue();
  if (!current) return <SignIn />;
  if (current.kind === "operator") {
    return (
      <Layout who={current.email} nav={OPERATOR_NAV} route={route} onSignOut={() => void signOut()}>
        {operatorPage(route)}
      </Layout>
    );
  }
  return (
    <Layout who="Tenant admin (secret key)" nav={TENANT_NAV} route={route} onSignOut={() => void signOut()}>
      {tenantPage(tenantApi(current.secretKey), [], route)}
    </Layout>
  );
}
