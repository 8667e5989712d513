/*
 * pypi-check.js - live dependency-confusion check for a project page of a pagesindex site.
 *
 * Plain JavaScript, no library. The page holds
 *   <section id="pypi-check" data-project="NORMALIZED-NAME" data-newest="VERSION"
 *            data-pypi-url="https://pypi.org" hidden></section>
 * where data-newest is the version a bare `pip install NAME` takes from this index (the newest
 * non-yanked final release, else the newest pre-release), and elements with class "install"
 * hold install commands.
 *
 * The script asks PyPI's JSON API (GET <pypi-url>/pypi/<name>/json; PyPI allows cross-origin
 * reads there). When pip, merging this index's candidates with PyPI's, would install PyPI's
 * version, the section shows a warning naming that version and every ".install" element is
 * hidden. When the name merely exists on PyPI, the section shows a notice. 404 (no such project)
 * and every error leave the page as it is.
 *
 * Versions are compared per PEP 440 (epochs, pre-, post-, development releases, local versions),
 * and counted as pip counts them: yanked files (PEP 592) are skipped, and pre-releases count only
 * when no final release is available.
 */
(function (global) {
  "use strict";

  // -- PEP 440 -----------------------------------------------------------------------------------
  // Every spelling PEP 440 accepts (case-insensitive, separators "-", "_", "." optional where the
  // PEP allows them, leading "v", surrounding spaces).
  var VERSION_RE = new RegExp(
    "^\\s*v?" +
      "(?:(\\d+)!)?" + // epoch
      "(\\d+(?:\\.\\d+)*)" + // release
      "(?:[-_.]?(alpha|a|beta|b|preview|pre|rc|c)[-_.]?(\\d+)?)?" + // pre-release
      "(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?" + // post-release
      "(?:[-_.]?(dev)[-_.]?(\\d+)?)?" + // development release
      "(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?" + // local version
      "\\s*$",
    "i"
  );
  var PRE_RANK = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

  // Digit strings of any length, compared exactly (no float rounding).
  function trimZeros(digits) {
    var s = String(digits).replace(/^0+/, "");
    return s === "" ? "0" : s;
  }
  function cmpInt(a, b) {
    a = trimZeros(a);
    b = trimZeros(b);
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Parse a PEP 440 version; return null when it is not one. */
  function parseVersion(text) {
    if (typeof text !== "string") return null;
    var m = VERSION_RE.exec(text);
    if (!m) return null;
    var release = m[2].split(".").map(trimZeros);
    var pre = m[3] ? [PRE_RANK[m[3].toLowerCase()], trimZeros(m[4] || "0")] : null;
    var post = m[5] !== undefined ? trimZeros(m[5]) : m[6] ? trimZeros(m[7] || "0") : null;
    var dev = m[8] ? trimZeros(m[9] || "0") : null;
    var local = m[10] ? m[10].toLowerCase().split(/[-_.]/) : null;
    return {
      text: text,
      epoch: trimZeros(m[1] || "0"),
      release: release,
      pre: pre,
      post: post,
      dev: dev,
      local: local,
      isPrerelease: pre !== null || dev !== null,
    };
  }

  // Compare "optional" parts where absence sorts below (lowIfMissing) or above every value.
  function cmpOptional(a, b, missing) {
    if (a === null && b === null) return 0;
    if (a === null) return missing;
    if (b === null) return -missing;
    return cmpInt(a, b);
  }

  function cmpLocal(a, b) {
    if (a === null && b === null) return 0;
    if (a === null) return -1;
    if (b === null) return 1;
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      var an = /^\d+$/.test(a[i]);
      var bn = /^\d+$/.test(b[i]);
      var c;
      if (an && bn) c = cmpInt(a[i], b[i]);
      else if (an !== bn) c = an ? 1 : -1; // a number sorts above a word
      else c = a[i] < b[i] ? -1 : a[i] > b[i] ? 1 : 0;
      if (c !== 0) return c;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  /** Compare two parsed versions per PEP 440: -1, 0 or 1. */
  function compareParsed(a, b) {
    var c = cmpInt(a.epoch, b.epoch);
    if (c !== 0) return c;
    var ra = a.release.slice();
    var rb = b.release.slice();
    while (ra.length > 1 && ra[ra.length - 1] === "0") ra.pop();
    while (rb.length > 1 && rb[rb.length - 1] === "0") rb.pop();
    for (var i = 0; i < Math.max(ra.length, rb.length); i++) {
      c = cmpInt(ra[i] || "0", rb[i] || "0");
      if (c !== 0) return c;
    }
    // Pre-release: a bare X.Y.devN sorts below X.YaN; no pre-release sorts above any.
    var pa = preKey(a);
    var pb = preKey(b);
    if (pa[0] !== pb[0]) return pa[0] < pb[0] ? -1 : 1;
    if (pa[0] === 1) {
      if (a.pre[0] !== b.pre[0]) return a.pre[0] < b.pre[0] ? -1 : 1;
      c = cmpInt(a.pre[1], b.pre[1]);
      if (c !== 0) return c;
    }
    c = cmpOptional(a.post, b.post, -1); // no post-release sorts below any
    if (c !== 0) return c;
    c = cmpOptional(a.dev, b.dev, 1); // no dev release sorts above any
    if (c !== 0) return c;
    return cmpLocal(a.local, b.local);
  }
  function preKey(v) {
    if (v.pre !== null) return [1];
    if (v.post === null && v.dev !== null) return [0];
    return [2];
  }

  /** Compare two version strings per PEP 440 (-1, 0, 1); throws on an invalid version. */
  function compareVersions(a, b) {
    var pa = parseVersion(a);
    var pb = parseVersion(b);
    if (!pa || !pb) throw new Error("invalid version: " + (pa ? b : a));
    return compareParsed(pa, pb);
  }

  function maxParsed(list) {
    var best = null;
    for (var i = 0; i < list.length; i++) {
      if (best === null || compareParsed(list[i], best) > 0) best = list[i];
    }
    return best;
  }

  /** The version a bare `pip install` takes among parsed versions: finals first. */
  function pipPick(list) {
    var finals = list.filter(function (v) {
      return !v.isPrerelease;
    });
    return maxParsed(finals.length ? finals : list);
  }

  /**
   * Decide from PyPI's JSON API answer (`data`) and this index's newest version.
   * Returns {status: "higher"|"exists", winner, highest} or null when `data` is unusable.
   */
  function decide(newest, data) {
    if (!data || typeof data !== "object") return null;
    var ours = newest ? parseVersion(newest) : null;
    if (newest && !ours) return null;
    var all = [];
    var installable = [];
    var releases = data.releases;
    if (releases && typeof releases === "object") {
      Object.keys(releases).forEach(function (key) {
        var v = parseVersion(key);
        if (!v) return;
        all.push(v);
        var files = Array.isArray(releases[key]) ? releases[key] : [];
        if (files.some(function (f) { return f && !f.yanked; })) installable.push(v);
      });
    } else if (data.info && typeof data.info.version === "string") {
      // Without the (deprecated) releases key, only the latest version is known.
      var latest = parseVersion(data.info.version);
      if (latest) {
        all.push(latest);
        installable.push(latest);
      }
    } else {
      return null;
    }
    var highest = maxParsed(all);
    var best = pipPick(installable.concat(ours ? [ours] : []));
    if (best !== null && (ours === null || compareParsed(best, ours) !== 0)) {
      return { status: "higher", winner: best.text, highest: highest ? highest.text : best.text };
    }
    return { status: "exists", winner: null, highest: highest ? highest.text : null };
  }

  // -- the page ----------------------------------------------------------------------------------
  var NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

  function paragraph(doc, className, parts) {
    var p = doc.createElement("p");
    p.className = className;
    parts.forEach(function (part) {
      if (typeof part === "string") {
        p.appendChild(doc.createTextNode(part));
      } else {
        var el = doc.createElement(part[0]);
        el.textContent = part[1];
        p.appendChild(el);
      }
    });
    return p;
  }

  function show(doc, section, project, newest, result) {
    while (section.firstChild) section.removeChild(section.firstChild);
    section.setAttribute("data-status", result.status);
    if (result.status === "higher") {
      var installs = doc.querySelectorAll(".install");
      section.className = (section.className ? section.className + " " : "") + "pypi-higher";
      section.setAttribute("role", "alert");
      section.appendChild(
        paragraph(doc, "warning", [
          ["strong", "Warning: "],
          "PyPI has a project named ",
          ["code", project],
          " at version ",
          ["strong", result.winner],
          newest ? ", which pip would install instead of this index's " + newest : ", which pip would install",
          " when this index is given with --extra-index-url." +
            (installs.length ? " The install commands on this page are hidden." : "") +
            " Ask the project's maintainers before installing it.",
        ])
      );
      for (var i = 0; i < installs.length; i++) {
        installs[i].hidden = true;
        if (installs[i].setAttribute) installs[i].setAttribute("hidden", "");
      }
    } else {
      section.className = (section.className ? section.className + " " : "") + "pypi-exists";
      section.appendChild(
        paragraph(doc, "notice", [
          "The name ",
          ["code", project],
          " is also taken on PyPI" + (result.highest ? " (highest version " + result.highest + ")" : "") +
            ". Install with a command that ties this project to this index, so that a higher upload there " +
            "cannot replace it.",
        ])
      );
    }
    section.hidden = false;
    section.removeAttribute("hidden");
  }

  /**
   * Run the check on `doc` with `fetchFn` (window.fetch). Resolves to the decision, or null when
   * nothing was shown (no section, 404, any error).
   */
  function run(doc, fetchFn) {
    try {
      var section = doc && doc.getElementById("pypi-check");
      if (!section || typeof fetchFn !== "function") return Promise.resolve(null);
      var project = section.getAttribute("data-project") || "";
      var newest = section.getAttribute("data-newest") || "";
      var base = (section.getAttribute("data-pypi-url") || "https://pypi.org").replace(/\/+$/, "");
      if (!NAME_RE.test(project) || !/^https?:\/\/[^\s"'<>]+$/.test(base)) return Promise.resolve(null);
      if (newest && !parseVersion(newest)) return Promise.resolve(null);
      var url = base + "/pypi/" + encodeURIComponent(project) + "/json";
      return fetchFn(url, { credentials: "omit", redirect: "follow" })
        .then(function (response) {
          if (!response || response.status !== 200) return null;
          return response.json();
        })
        .then(function (data) {
          if (data === null) return null;
          var result = decide(newest, data);
          if (result) show(doc, section, project, newest, result);
          return result;
        })
        .catch(function () {
          return null;
        });
    } catch (e) {
      return Promise.resolve(null);
    }
  }

  var api = {
    parseVersion: parseVersion,
    compareVersions: compareVersions,
    decide: decide,
    run: run,
  };

  if (typeof module === "object" && module && module.exports) {
    module.exports = api;
  } else if (global && global.document && typeof global.fetch === "function") {
    global.pagesindexPypiCheck = api;
    var start = function () {
      run(global.document, global.fetch.bind(global));
    };
    if (global.document.readyState === "loading") {
      global.document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
})(typeof window !== "undefined" ? window : this);
