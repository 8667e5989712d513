// Test driver for src/pagesindex/static/pypi-check.js under node (no browser, no library).
// usage: node harness.js SCRIPT COMMAND < JSON-ARGUMENT ; prints one JSON answer on stdout.
"use strict";
const check = require(process.argv[2]);
const command = process.argv[3];
const arg = JSON.parse(require("fs").readFileSync(0, "utf8") || "null");

// A minimal document: just what pypi-check.js touches.
class Node {
  constructor(tag, text) {
    this.tagName = tag;
    this.attrs = {};
    this.children = [];
    this.className = "";
    this.hidden = false;
    this.text = text || "";
  }
  get firstChild() { return this.children[0] || null; }
  appendChild(c) { this.children.push(c); return c; }
  removeChild(c) { this.children = this.children.filter((x) => x !== c); return c; }
  setAttribute(k, v) { this.attrs[k] = String(v); if (k === "hidden") this.hidden = true; }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  removeAttribute(k) { delete this.attrs[k]; if (k === "hidden") this.hidden = false; }
  set textContent(v) { this.children = []; this.text = String(v); }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join(""); }
}
function makeDocument(section, installs) {
  const doc = {
    section: null,
    installs: [],
    getElementById(id) { return id === "pypi-check" ? this.section : null; },
    querySelectorAll(sel) { return sel === ".install" ? this.installs : []; },
    createElement(tag) { return new Node(tag); },
    createTextNode(text) { return new Node("#text", text); },
  };
  if (section) {
    const s = new Node("section");
    for (const [k, v] of Object.entries(section)) s.setAttribute(k, v);
    s.setAttribute("hidden", "");
    doc.section = s;
  }
  for (let i = 0; i < installs; i++) doc.installs.push(new Node("pre"));
  return doc;
}

async function main() {
  if (command === "sort") {
    const valid = arg.map((v) => check.parseVersion(v) !== null);
    const good = arg.filter((v, i) => valid[i]);
    const sorted = good.slice().sort(check.compareVersions);
    return { valid, sorted };
  }
  if (command === "compare") {
    return arg.map(([a, b]) => check.compareVersions(a, b));
  }
  if (command === "decide") {
    return check.decide(arg.newest, arg.data);
  }
  if (command === "run") {
    const doc = makeDocument(arg.section, arg.installs || 0);
    const fetchFn = arg.noFetch ? undefined : fetch;
    const result = await check.run(doc, fetchFn);
    const s = doc.section;
    return {
      result,
      hidden: s ? s.hidden : null,
      status: s ? s.getAttribute("data-status") : null,
      className: s ? s.className : null,
      text: s ? s.textContent : null,
      installsHidden: doc.installs.map((n) => n.hidden),
    };
  }
  throw new Error("unknown command " + command);
}
main().then((out) => process.stdout.write(JSON.stringify(out))).catch((e) => { console.error(e); process.exit(3); });
