// The console's entry point: registers the session guards and renders the app.
import { render } from "preact";
import { App } from "./App";
import { installSessionGuards } from "./pages/sessionGuards";
import "./styles.css";

installSessionGuards();
const root = document.getElementById("app");
if (root) render(<App />, root);
