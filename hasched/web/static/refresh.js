// Reload the page every <body data-refresh> seconds while it is open, unless the user is typing
// in a form. Drops the one-time "done" notice from the address, so it is not shown again.
(function () {
  var seconds = Number(document.body.getAttribute("data-refresh")) || 0;
  if (!seconds) return;
  function typing() {
    var el = document.activeElement;
    if (el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) return true;
    return Array.prototype.some.call(document.querySelectorAll("input[type=text]"), function (i) {
      return i.value !== i.defaultValue;
    });
  }
  setInterval(function () {
    if (typing() || document.hidden) return;
    var url = new URL(window.location.href);
    ["done", "job", "id"].forEach(function (k) { url.searchParams.delete(k); });
    window.location.replace(url.toString());
  }, seconds * 1000);
})();
