// orm-admin: the little behaviour the pages need, loaded from a file
// (the Content-Security-Policy allows no inline script). Every page
// works without it.
"use strict";

// The change list's "select all" box.
document.querySelectorAll("input.select-all").forEach(function (all) {
  var form = all.closest("form");
  if (!form) return;
  var boxes = form.querySelectorAll("input[name=_selected_action]");
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      all.checked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    });
  });
});

// A many-to-many select's filter box (hidden without the script): hides
// the options whose text does not contain what is typed.
document.querySelectorAll("input.m2m-filter").forEach(function (box) {
  var select = document.getElementById(box.getAttribute("data-for"));
  if (!select) return;
  box.hidden = false;
  box.addEventListener("input", function () {
    var term = box.value.trim().toLowerCase();
    Array.prototype.forEach.call(select.options, function (option) {
      option.hidden = term !== "" && option.text.toLowerCase().indexOf(term) < 0;
    });
  });
});

// A key input with data-autocomplete becomes a search box with
// suggestions from the model's autocomplete endpoint (at most 20, never
// the whole table): arrows move, Enter picks, Escape closes (the ARIA
// combobox pattern). Without the script, the key is typed.
var comboboxes = 0;
function combobox(input, onPick) {
  var url = input.getAttribute("data-autocomplete");
  var n = ++comboboxes;
  var wrap = document.createElement("div");
  wrap.className = "ac";
  var box = document.createElement("input");
  box.type = "text";
  box.className = "ac-input";
  box.setAttribute("role", "combobox");
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-expanded", "false");
  box.setAttribute("autocomplete", "off");
  box.setAttribute("aria-controls", "ac-list-" + n);
  box.placeholder = "Type to search";
  var labelled = input.id && document.querySelector("label[for='" + input.id + "']");
  if (labelled) {
    box.id = input.id + "_search";
    labelled.setAttribute("for", box.id);
  } else if (input.getAttribute("aria-label")) {
    box.setAttribute("aria-label", input.getAttribute("aria-label"));
  }
  var list = document.createElement("ul");
  list.className = "ac-list";
  list.id = "ac-list-" + n;
  list.setAttribute("role", "listbox");
  list.hidden = true;
  wrap.appendChild(box);
  wrap.appendChild(list);
  input.parentNode.insertBefore(wrap, input.nextSibling);
  var items = [];
  var active = -1;
  var timer = null;
  var asked = 0;
  function close() {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function highlight(i) {
    items.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
    active = i;
    if (i >= 0) {
      box.setAttribute("aria-activedescendant", items[i].id);
      items[i].scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }
  function pick(i) {
    var li = items[i];
    if (!li) return;
    onPick(li.getAttribute("data-id"), li.textContent, box);
    close();
  }
  function show(results) {
    list.textContent = "";
    items = results.map(function (r, i) {
      var li = document.createElement("li");
      li.id = "ac-" + n + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-id", r.id);
      li.textContent = r.text;
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
      list.appendChild(li);
      return li;
    });
    if (items.length === 0) {
      var none = document.createElement("li");
      none.className = "ac-none";
      none.textContent = "No match";
      list.appendChild(none);
    }
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(-1);
  }
  function ask() {
    var mine = ++asked;
    fetch(url + "?term=" + encodeURIComponent(box.value.trim()), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (mine === asked && document.activeElement === box) show(data.results || []); })
      .catch(function () { close(); });
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 200);
  });
  box.addEventListener("focus", function () { if (box.value === "") ask(); });
  box.addEventListener("blur", function () { setTimeout(close, 100); });
  box.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (list.hidden) { ask(); return; }
      highlight(Math.min(active + 1, items.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (e.key === "Enter") {
      if (!list.hidden && active >= 0) { e.preventDefault(); pick(active); }
    } else if (e.key === "Escape") {
      if (!list.hidden) { e.preventDefault(); close(); }
    }
  });
  return box;
}

// A foreign key: the box shows the chosen object's label; the key input
// becomes hidden and holds its key (emptied with the box).
document.querySelectorAll("input.key[data-autocomplete]:not(.m2m-add)").forEach(function (input) {
  var box = combobox(input, function (id, text, box) {
    input.value = id;
    box.value = text;
  });
  box.value = input.getAttribute("data-label") || input.value;
  if (input.required) box.required = true;
  input.type = "hidden";
  var shown = input.parentNode.querySelector(".key-label");
  if (shown) shown.hidden = true;
  box.addEventListener("change", function () { if (box.value.trim() === "") input.value = ""; });
});

// A many-to-many field over a big table: a pick adds a checked box to
// the chosen list (the key box stays for typing keys).
document.querySelectorAll("input.m2m-add[data-autocomplete]").forEach(function (input) {
  var name = input.getAttribute("data-many");
  var chosen = input.parentNode.querySelector("ul.m2m-chosen");
  if (!chosen) return;
  input.hidden = true;
  var box = combobox(input, function (id, text, box) {
    box.value = "";
    var present = Array.prototype.some.call(chosen.querySelectorAll("input"), function (c) {
      if (c.value === id) { c.checked = true; return true; }
      return false;
    });
    if (present) return;
    var li = document.createElement("li");
    var label = document.createElement("label");
    var check = document.createElement("input");
    check.type = "checkbox";
    check.name = name;
    check.value = id;
    check.checked = true;
    label.appendChild(check);
    label.appendChild(document.createTextNode(" " + text));
    li.appendChild(label);
    chosen.appendChild(li);
  });
  box.placeholder = "Type to search, then pick to add";
});
