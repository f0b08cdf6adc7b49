// dist: what the server cannot read from a User-Agent. iPadOS asks for desktop sites with a
// Mac User-Agent; a touch screen gives it away. The page reloads once with ?device=ipad so
// the server puts the iPad's build first. Nothing else depends on this script.
(function () {
  var m = document.querySelector("meta[name=dist-device]");
  if (!m || m.content !== "touch-unknown" || navigator.maxTouchPoints <= 1) return;
  var u = new URL(location.href);
  if (u.searchParams.get("device")) return;
  u.searchParams.set("device", "ipad");
  location.replace(u.toString());
})();
