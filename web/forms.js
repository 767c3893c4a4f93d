/* kindmap contribution forms (suggest a place, report a problem, say thank you).
 *
 * Sends the form as JSON to its data-endpoint. Messages are set with textContent only.
 * Nothing the person typed is cleared unless the server accepted it.
 */
(function () {
  "use strict";

  function fieldsOf(form) {
    var data = {};
    new FormData(form).forEach(function (value, key) {
      if (typeof value !== "string") return;
      if (key === "place_id") { data[key] = parseInt(value, 10); return; }
      if (value.trim() !== "" || key === "nickname") data[key] = value;
    });
    return data;
  }

  function labelText(input) {
    var label = input.id && input.form.querySelector('label[for="' + input.id + '"]');
    if (input.type === "radio") {
      var legend = input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
      return legend ? legend.textContent.trim() : input.name;
    }
    return label ? label.textContent.replace(/\(optional.*\)$/i, "").trim() : input.name;
  }

  function missing(form) {
    var seen = {};
    var found = [];
    Array.prototype.forEach.call(form.querySelectorAll("[required]"), function (input) {
      if (seen[input.name]) return;
      seen[input.name] = true;
      var empty = input.type === "radio"
        ? !form.querySelector('input[name="' + input.name + '"]:checked')
        : !input.value.trim();
      if (empty) found.push(input);
    });
    return found;
  }

  function markInvalid(form, detail) {
    Array.prototype.forEach.call(form.querySelectorAll("input, select, textarea"), function (input) {
      if (input.type === "hidden" || input.closest(".hp")) return;
      var label = labelText(input);
      if (label && detail.indexOf(label + ":") !== -1) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }

  async function detailOf(response) {
    try {
      var body = await response.json();
      if (typeof body.detail === "string") return body.detail;
    } catch (e) { /* not JSON */ }
    if (response.status === 413) return "That is too long to send. Please shorten it.";
    return "Something went wrong (" + response.status + "). Please try again.";
  }

  function setup(form) {
    var error = form.querySelector("[data-error]");
    var done = form.querySelector("[data-done]");
    var button = form.querySelector("button[type=submit]");

    function fail(message) {
      done.textContent = "";
      error.textContent = message;
      markInvalid(form, message);
      error.focus();
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var empty = missing(form);
      if (empty.length) {
        fail(empty.map(function (i) { return labelText(i) + ": please fill this in"; }).join(". ") + ".");
        return;
      }
      button.disabled = true;
      error.textContent = "";
      done.textContent = "Sending…";
      var response;
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
        var message = await detailOf(response);
        if (response.status === 429) {
          var wait = parseInt(response.headers.get("Retry-After"), 10);
          if (!/try again/i.test(message) && wait > 0) message += " Please try again in " + Math.ceil(wait / 60) + " minutes.";
        }
        fail(message);
        return;
      }
      var body = await response.json();
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
})();
