// Keyboard shortcuts of the staff screens. An element with data-shortcut="a" is
// clicked when "a" is pressed; one with data-shortcut-focus="e" gets the focus.
// Keys typed into a text field, or with Ctrl, Alt or Meta, are left alone.
"use strict";

(function () {
  function typingInField(target) {
    if (!target || !target.tagName) {
      return false;
    }
    const tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function findShortcut(key) {
    const clickable = document.querySelector('[data-shortcut="' + CSS.escape(key) + '"]');
    if (clickable) {
      return { element: clickable, focusOnly: false };
    }
    const focusable = document.querySelector('[data-shortcut-focus="' + CSS.escape(key) + '"]');
    return focusable ? { element: focusable, focusOnly: true } : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typingInField(event.target)) {
      return;
    }
    const found = findShortcut(event.key);
    if (!found) {
      return;
    }
    event.preventDefault();
    found.element.focus();
    if (!found.focusOnly) {
      found.element.click();
    }
  });

  // A form with data-confirm asks before it is sent.
  document.addEventListener("submit", function (event) {
    const question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
