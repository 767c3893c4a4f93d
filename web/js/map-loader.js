/* Leaflet's style and script from /static (never a CDN), fetched once, when a page first needs a
 * map: about 150 KB that a phone's first screen does without. */

let loading = null;

function load(tag, attrs) {
  return new Promise(function (resolve, reject) {
    const node = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { node[k] = attrs[k]; });
    node.onload = resolve;
    node.onerror = reject;
    // Leaflet's style goes before ours, as if linked first, so our stylesheets can adjust it.
    const ours = tag === "link" && document.head.querySelector('link[rel="stylesheet"]');
    if (ours) document.head.insertBefore(node, ours);
    else document.head.appendChild(node);
  });
}

// Resolves when Leaflet has loaded, or failed to (the caller checks ``typeof L``).
export function loadLeaflet() {
  if (!loading) {
    loading = Promise.all([
      load("link", { rel: "stylesheet", href: "/static/vendor/leaflet/leaflet.css" }),
      load("script", { src: "/static/vendor/leaflet/leaflet.js" }),
    ]).catch(function () { /* the page says the map could not load; its list still works */ });
  }
  return loading;
}
