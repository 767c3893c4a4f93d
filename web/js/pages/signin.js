/* Sign in on a staff page (council view, review queue) when signed out: asks for a web session
 * (HttpOnly cookie, never readable here), then reloads so the server shows the page for the account.
 * The password is cleared whatever the outcome. */

import { detailOf, requestSession } from "../staff.js";

function start() {
  const form = document.getElementById("page-sign-in");
  if (!form) return;
  const email = document.getElementById("si-email");
  const password = document.getElementById("si-password");
  const error = document.getElementById("si-error");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.textContent = "";
    if (!email.value.trim() || !password.value) {
      error.textContent = "Enter your email and password.";
      error.focus();
      return;
    }
    let r;
    try {
      r = await requestSession(email.value.trim(), password.value);
    } catch (e) {
      error.textContent = "Could not reach kindmap. Check your connection.";
      error.focus();
      return;
    }
    password.value = "";
    if (!r.ok) { error.textContent = await detailOf(r); error.focus(); return; }
    window.location.reload();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
