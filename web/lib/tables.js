// Tables at phone width become stacked cards, each cell led by its column's name. The names come
// from each table's own header row, so every table on every page (those added later too) gets
// them without writing labels twice; a cell that sets `data-label` itself keeps its own.

/** The header texts of a table's columns, by index ("" for a header without text). */
function columnNames(table) {
  const row = table.tHead?.rows[table.tHead.rows.length - 1];
  return row ? [...row.cells].map((cell) => cell.textContent.trim()) : [];
}

function label(table) {
  const names = columnNames(table);
  if (!names.length) return;
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      [...row.cells].forEach((cell, index) => {
        if (cell.hasAttribute("data-label") && !cell.hasAttribute("data-label-from-header")) return;
        const name = names[index] || "";
        if (cell.getAttribute("data-label") === name) return;
        cell.setAttribute("data-label", name);
        cell.setAttribute("data-label-from-header", "");
      });
    }
  }
}

/** Labels the cells of every table under `root`, now and whenever rows or tables are added. */
export function labelTableCells(root) {
  const labelAll = () => root.querySelectorAll("table").forEach(label);
  let pending = false;
  new MutationObserver(() => {
    // One pass per burst of changes (a list re-render adds many rows at once).
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      labelAll();
    });
  }).observe(root, { childList: true, subtree: true });
  labelAll();
}
