// Copies the npm packages the pages use into frontend/static/vendor (served by the app).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "frontend", "static", "vendor");
mkdirSync(vendor, { recursive: true });
const assets = [["node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"]];
for (const [from, to] of assets) copyFileSync(join(root, from), join(vendor, to));
console.log(`vendor assets: ${assets.map(([, to]) => to).join(", ")}`);
