// MathJax 3 for the maths that pymdownx.arithmatex (generic mode) marks with class
// "arithmatex": \( ... \) inline, \[ ... \] displayed. Nothing else on a page is typeset.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
