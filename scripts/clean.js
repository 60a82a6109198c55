// Removes generated output so a build never ships files of deleted sources.
const fs = require("fs");
const path = require("path");
for (const dir of ["dist", "examples"]) {
  fs.rmSync(path.join(__dirname, "..", dir), { recursive: true, force: true });
}
