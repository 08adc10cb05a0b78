// "Añadir otro pool" adds one more pool size input to the calculator.
document.getElementById("add-pool")?.addEventListener("click", () => {
  const pools = document.getElementById("pools");
  const input = pools.querySelector("input[name=pool_size]").cloneNode();
  input.value = "";
  pools.insertBefore(input, document.getElementById("add-pool"));
  input.focus();
});
