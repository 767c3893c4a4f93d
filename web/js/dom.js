/* Small DOM helpers. Place data only ever reaches the page through textContent,
 * createElement and checked href values: never innerHTML, never Leaflet popups with strings. */

export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function safeHttpUrl(value) {
  if (typeof value !== "string") return null;
  let candidate = value.trim();
  // OSM often stores "www.example.org" without a scheme.
  if (/^www\./i.test(candidate)) candidate = "https://" + candidate;
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

// Leaflet's attribution control takes HTML; the config text is ours, but escape it anyway.
export function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}
