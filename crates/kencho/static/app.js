// Progressive enhancement only: every page works without this file.
// 1. Fields whose visibility depends on an answer on the same page are hidden until it applies.
// 2. The error summary takes focus, so screen-reader users hear it first.
(function () {
  "use strict";
  function valuesOf(form, name) {
    var out = [];
    form.querySelectorAll('[name="f.' + name + '"]').forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      out.push(el.type === "checkbox" && el.value === "true" ? "true" : el.value);
    });
    return out;
  }
  function update(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (box) {
      var wanted = box.getAttribute("data-show-values").split("|");
      var have = valuesOf(form, box.getAttribute("data-show-if"));
      var show = have.some(function (v) { return wanted.indexOf(v) >= 0; });
      box.hidden = !show;
      var note = box.querySelector(".condition");
      if (note) note.hidden = true;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("[data-show-if]")) return;
      update(form);
      form.addEventListener("change", function () { update(form); });
    });
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
