// Message view: tabs and delete. The HTML body lives in a sandboxed iframe without scripts; this file never
// touches mail content.
"use strict";

const tabs = document.querySelectorAll("#tabs button");
function show(name) {
  for (const button of tabs) button.classList.toggle("active", button.dataset.tab === name);
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${name}`;
  history.replaceState(null, "", `#${name}`);
}
for (const button of tabs) button.addEventListener("click", () => show(button.dataset.tab));
const wanted = location.hash.slice(1);
const names = Array.from(tabs, (b) => b.dataset.tab);
show(names.includes(wanted) ? wanted : names[0]);

const deleteButton = document.getElementById("delete");
deleteButton.addEventListener("click", async () => {
  const response = await fetch("/api/v1/messages", {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ IDs: [deleteButton.dataset.id] }),
  });
  if (response.ok) location.href = "/";
});
