/* The member picker of a new pool: "Añadir" and "Quitar" only change the list of hidden
   inputs sent with the form; nothing is saved until "Guardar". */
(function () {
  document.addEventListener("click", function (event) {
    var picker = event.target.closest("[data-picker]");
    if (!picker) return;
    var chosen = picker.querySelector("[data-chosen]");
    var add = event.target.closest("[data-add]");
    if (add) {
      var pk = add.getAttribute("data-add");
      if (!chosen.querySelector('[data-pk="' + pk + '"]')) {
        var item = document.createElement("li");
        item.className = "list-group-item d-flex justify-content-between align-items-center";
        item.setAttribute("data-pk", pk);
        var label = document.createElement("span");
        label.textContent = add.getAttribute("data-number");
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = picker.getAttribute("data-name");
        input.value = pk;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn btn-sm btn-outline-danger";
        remove.setAttribute("data-remove", "");
        remove.textContent = picker.getAttribute("data-remove-label");
        item.append(label, input, remove);
        chosen.append(item);
      }
      add.closest("li").remove();
      return;
    }
    var removeButton = event.target.closest("[data-remove]");
    if (removeButton) removeButton.closest("li").remove();
  });
  document.addEventListener("keydown", function (event) {
    // Enter in the picker's search box searches; it does not submit the pool form.
    if (event.key === "Enter" && event.target.closest("[data-picker]")) event.preventDefault();
  });
})();
