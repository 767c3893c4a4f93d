/* The contribution forms (suggest a place, report a problem, say thank you) on every server-rendered
 * page: each form[data-endpoint] is sent as JSON to its data-endpoint. Messages are set with
 * textContent only. Nothing the person typed is cleared unless the server accepted it. */

function fieldsOf(form) {
  const data = {};
  new FormData(form).forEach(function (value, key) {
    if (typeof value !== "string") return;
    if (key === "place_id") { data[key] = parseInt(value, 10); return; }
    if (value.trim() !== "" || key === "nickname") data[key] = value;
  });
  return data;
}

function labelText(input) {
  const label = input.id && input.form.querySelector('label[for="' + input.id + '"]');
  if (input.type === "radio") {
    const legend = input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
    return legend ? legend.textContent.trim() : input.name;
  }
  return label ? label.textContent.replace(/\(optional.*\)$/i, "").trim() : input.name;
}

function missing(form) {
  const seen = {};
  const found = [];
  Array.prototype.forEach.call(form.querySelectorAll("[required]"), function (input) {
    if (seen[input.name]) return;
    seen[input.name] = true;
    const empty = input.type === "radio"
      ? !form.querySelector('input[name="' + input.name + '"]:checked')
      : !input.value.trim();
    if (empty) found.push(input);
  });
  return found;
}

function markInvalid(form, detail) {
  Array.prototype.forEach.call(form.querySelectorAll("input, select, textarea"), function (input) {
    if (input.type === "hidden" || input.closest(".hp")) return;
    const label = labelText(input);
    if (label && detail.indexOf(label + ":") !== -1) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  });
}

// Not api.js errorDetail: these forms have their own words for a body over the size limit.
async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch (e) { /* not JSON */ }
  if (response.status === 413) return "That is too long to send. Please shorten it.";
  return "Something went wrong (" + response.status + "). Please try again.";
}

function setup(form) {
  const error = form.querySelector("[data-error]");
  const done = form.querySelector("[data-done]");
  const button = form.querySelector("button[type=submit]");

  function fail(message) {
    done.textContent = "";
    error.textContent = message;
    markInvalid(form, message);
    error.focus();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const empty = missing(form);
    if (empty.length) {
      fail(empty.map(function (i) { return labelText(i) + ": please fill this in"; }).join(". ") + ".");
      return;
    }
    button.disabled = true;
    error.textContent = "";
    done.textContent = "Sending…";
    let response;
    try {
      response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(fieldsOf(form)),
      });
    } catch (e) {
      button.disabled = false;
      fail("Could not reach kindmap. Check your connection and try again; what you wrote is still here.");
      return;
    }
    button.disabled = false;
    if (!response.ok) {
      let message = await detailOf(response);
      if (response.status === 429) {
        const wait = parseInt(response.headers.get("Retry-After"), 10);
        if (!/try again/i.test(message) && wait > 0) message += " Please try again in " + Math.ceil(wait / 60) + " minutes.";
      }
      fail(message);
      return;
    }
    const body = await response.json();
    form.reset();
    markInvalid(form, "");
    done.textContent = body.message || "Thank you. We have received it.";
    done.focus();
  });
}

function start() {
  Array.prototype.forEach.call(document.querySelectorAll("form[data-endpoint]"), setup);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
