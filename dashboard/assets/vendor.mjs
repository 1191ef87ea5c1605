// Copies the pinned htmx and uPlot builds from node_modules into dashboard/static/vendor/ (committed), with the
// version in each file name, and writes VERSIONS. Run: `npm run vendor` after changing package.json.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";

const out = "dashboard/static/vendor";
const pkgs = [
  ["htmx.org", "dist/htmx.min.js", "htmx"],
  ["htmx-ext-ws", "dist/ws.min.js", "htmx-ext-ws"],
  ["uplot", "dist/uPlot.iife.min.js", "uPlot"],  // the trends chart (window.uPlot)
  ["uplot", "dist/uPlot.min.css", "uPlot", ".min.css"],
];
const lines = [];
for (const [name, file, stem, suffix = ".min.js"] of pkgs) {
  const { version, license } = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
  copyFileSync(`node_modules/${name}/${file}`, `${out}/${stem}-${version}${suffix}`);
  lines.push(`${stem}-${version}${suffix}  npm:${name}@${version}  ${license}`);
}
writeFileSync(`${out}/VERSIONS`, lines.join("\n") + "\n");
console.log(lines.join("\n"));
