/* The navigation's "Sign out" (signed-in pages): ends the web session on the server, then goes
 * to the public map. The session cookie is HttpOnly, so only the server can end it. */

function start() {
  const button = document.getElementById("nav-sign-out");
  if (!button) return;
  button.addEventListener("click", async function () {
    button.disabled = true;
    try {
      await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      window.location.assign("/");
    }
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
