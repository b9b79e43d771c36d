// 长辈模式 (适老化): larger text and stronger contrast, kept in this browser across pages and visits.
(function () {
  var KEY = "yiwang-care";
  var root = document.documentElement;
  var on = false;
  try { on = window.localStorage.getItem(KEY) === "1"; } catch (e) { on = false; }
  if (on) root.classList.add("care");
  document.addEventListener("DOMContentLoaded", function () {
    // A table wider than a phone scrolls sideways: keyboard users reach it with Tab (WCAG 2.1.1).
    Array.prototype.forEach.call(document.querySelectorAll(".table"), function (table) {
      if (table.scrollWidth > table.clientWidth + 1 && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
      }
    });
    // Long texts: count characters against the limit as the person types (the server checks too).
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-limit]"), function (area) {
      var limit = parseInt(area.getAttribute("data-limit"), 10);
      var count = area.parentNode.querySelector(".char-count");
      if (!count) return;
      function update() {
        var used = Array.from(area.value).length;
        count.textContent = used > limit ? "已超出 " + (used - limit) + " 字（最多 " + limit + " 字）" : "已输入 " + used + " / " + limit + " 字";
        count.classList.toggle("field-error", used > limit);
      }
      area.addEventListener("input", update);
      update();
    });
    var button = document.getElementById("care-toggle");
    if (!button) return;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "标准模式" : "长辈模式";
    button.addEventListener("click", function () {
      on = !root.classList.contains("care");
      root.classList.toggle("care", on);
      try { window.localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "标准模式" : "长辈模式";
    });
  });
})();
