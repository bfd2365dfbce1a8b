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
    // マイ避難: a click on the sketch map fills in latitude and longitude.
    document.querySelectorAll("svg.minimap").forEach(function (map) {
      document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
      map.addEventListener("click", function (ev) {
        var box = map.getBoundingClientRect();
        var x = (ev.clientX - box.left) * 320 / box.width;
        var y = (ev.clientY - box.top) * 240 / box.height;
        var lon = parseFloat(map.dataset.minLon) + x * parseFloat(map.dataset.scaleLon);
        var lat = parseFloat(map.dataset.maxLat) - y * parseFloat(map.dataset.scaleLat);
        var latIn = document.getElementById("lat"), lonIn = document.getElementById("lon");
        if (latIn && lonIn) { latIn.value = lat.toFixed(6); lonIn.value = lon.toFixed(6); }
        var town = document.getElementById("town");
        if (town) town.value = "";
        var home = map.querySelector("circle.home");
        if (!home) {
          home = document.createElementNS("http://www.w3.org/2000/svg", "circle");
          home.setAttribute("class", "home"); home.setAttribute("r", "6"); home.setAttribute("fill", "none");
          home.setAttribute("stroke", "#c4262e"); home.setAttribute("stroke-width", "3");
          map.appendChild(home);
        }
        home.setAttribute("cx", x); home.setAttribute("cy", y);
      });
    });
    document.querySelectorAll(".js-print-button").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
