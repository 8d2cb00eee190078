"use strict";

// Select2 (the admin's autocomplete widget) makes a search field for each multiple choice without a label,
// and makes it again whenever the choice changes: each one is labelled by its own select's label.
(function () {
  function labelSearchFields(root) {
    root.querySelectorAll(".select2-search__field:not([aria-label])").forEach(function (field) {
      const container = field.closest(".select2");
      const select = container && container.previousElementSibling;
      const label = select && select.id && document.querySelector('label[for="' + select.id + '"]');
      field.setAttribute("aria-label", label ? label.textContent.replace(/:$/, "").trim() : "Search");
    });
  }
  new MutationObserver(function () { labelSearchFields(document); }).observe(document.body, {
    childList: true,
    subtree: true,
  });
  labelSearchFields(document);
})();
