// The ipywidgets renderer typesets widget labels with MathJax 2's `MathJax.Hub.Queue`, which
// MathJax 3 (the version this site serves) does not have: every widget would throw a
// TypeError. This gives each MathJax object the page gets (the configuration first, then
// MathJax itself when it has loaded) a `Hub.Queue` that typesets with MathJax 3.
(function () {
  "use strict";
  function typeset(element) {
    var mj = window.MathJax;
    if (mj && typeof mj.typesetPromise === "function") {
      mj.typesetPromise(element ? [element] : undefined).catch(function () {});
    } else if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(function () { typeset(element); });
    }
  }
  var hub = {
    Queue: function (job) {
      // MathJax 2 jobs look like ["Typeset", MathJax.Hub, element]
      typeset(Array.isArray(job) ? job[2] : undefined);
    }
  };
  var current = window.MathJax;
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      try { value.Hub = hub; } catch (e) { /* a frozen object: leave it */ }
    }
    return value;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
  withHub(current);
})();
