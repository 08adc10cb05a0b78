/* "Pool de extensiones" only for webfon extensions, "Usuario propietario" only for physical
   ones: hide (and disable, so it is not sent) the one that does not apply to the kind. */
(function () {
  var kind = document.getElementById("id_kind");
  if (!kind) return;
  var onlyFor = {pool: "webfon", owner: "physical"};
  function sync() {
    Object.keys(onlyFor).forEach(function (name) {
      var input = document.getElementById("id_" + name);
      if (!input) return;
      var row = input.closest(".mb-3");
      var show = !kind.value || kind.value === onlyFor[name] || row.querySelector(".invalid-feedback");
      row.hidden = !show;
      input.disabled = !show;
    });
  }
  kind.addEventListener("change", sync);
  sync();
})();
